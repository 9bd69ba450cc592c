"""Tortoise ORM models, one module per aggregate."""

from models.generation import Generation, GenerationStatus
from models.otp import OtpCode
from models.session import AuthSession, RefreshToken
from models.user import Role, User

MODEL_MODULES = ["models.user", "models.session", "models.otp", "models.generation"]

__all__ = [
    "MODEL_MODULES",
    "AuthSession",
    "Generation",
    "GenerationStatus",
    "OtpCode",
    "RefreshToken",
    "Role",
    "User",
]
