"""Login sessions (refresh token families) and the hashes of the refresh tokens issued."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.user import User


class AuthSession(Model):
    """One device's login: every refresh token rotated from one login belongs to it."""

    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    user_agent = fields.CharField(max_length=512, default="")
    ip = fields.CharField(max_length=64, default="")
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "auth_sessions"


class RefreshToken(Model):
    """A refresh token ever issued, kept only as a SHA-256 of the token."""

    jti = fields.CharField(max_length=64, primary_key=True)
    session: fields.ForeignKeyRelation[AuthSession] = fields.ForeignKeyField(
        "models.AuthSession", related_name="tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    parent_jti = fields.CharField(max_length=64, null=True)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
