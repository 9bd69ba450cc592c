"""Every setting of the service, read from the environment (and `.env` when present).

With nothing set the service runs on its embedded defaults: SQLite under `var/`, the
local renderer, a file outbox for emails, local media storage and development JWT
secrets generated once and kept under `var/`.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_FAL_MODEL = "fal-ai/minimax/hailuo-02/standard/image-to-video"
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """The configuration cannot run: the message says which setting and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=BASE_DIR / ".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    var_dir: Path = BASE_DIR / "var"

    # Database: SQLite under var/ unless DATABASE_URL names another one.
    database_url: str = ""
    direct_url: str = ""
    db_pool_size: int = Field(default=10, ge=1)

    # Tokens.
    jwt_secret: str = ""
    jwt_refresh_secret: str = ""
    jwt_issuer: str = "clipforge"
    jwt_audience: str = "clipforge-api"
    access_token_ttl_seconds: int = Field(default=900, ge=1)
    refresh_token_ttl_seconds: int = Field(default=604_800, ge=1)
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0)

    # Accounts and one-time codes.
    signup_enabled: bool = False
    otp_signup: bool = False
    otp_ttl_seconds: int = Field(default=600, ge=1)
    otp_max_attempts: int = Field(default=5, ge=1)
    otp_resend_seconds: int = Field(default=60, ge=0)
    otp_secret: str = ""  # HMAC key of stored codes; derived from JWT_SECRET when empty

    # Rate limits ("N/period" in the `limits` notation) and their storage.
    redis_url: str = ""
    rate_limit_prefix: str = "clipforge-rl"
    login_rate_limit: str = "10/minute"
    login_ip_rate_limit: str = "50/minute"
    send_otp_rate_limit: str = "5/hour"
    send_otp_ip_rate_limit: str = "30/hour"
    login_otp_rate_limit: str = "10/minute"
    login_otp_ip_rate_limit: str = "50/minute"

    # Email.
    email_backend: Literal["auto", "sendgrid", "file"] = "auto"
    sendgrid_api_key: str = ""
    sendgrid_from_email: str = "no-reply@clipforge.local"
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_timeout_seconds: float = Field(default=10, gt=0)
    outbox_dir: Path | None = None

    # Video provider.
    fal_key: str = ""
    fal_model: str = DEFAULT_FAL_MODEL
    fal_base_url: str = ""
    fal_jwks_url: str = "https://rest.fal.ai/.well-known/jwks.json"
    keep_provider_video_url: bool = False
    generation_timeout_seconds: float = Field(default=600, gt=0)
    fal_timeout_seconds: float = Field(default=60, gt=0)  # one HTTP call to fal
    fal_poll_interval_seconds: float = Field(default=1.0, gt=0)  # first status poll delay
    fal_max_poll_interval_seconds: float = Field(default=10.0, gt=0)  # backoff ceiling
    generation_sweep_interval_seconds: float = Field(default=30, gt=0)  # resume orphaned jobs
    generation_lease_seconds: float = Field(default=60, gt=0)  # a dead owner's claim expires
    max_generations_in_flight: int = Field(default=3, ge=1)
    daily_generation_quota: int = Field(default=100, ge=1)

    # Uploads, media and the catalog.
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    features_file: Path = BASE_DIR / "features.toml"
    media_dir: Path | None = None
    public_base_url: str = ""

    # GraphQL playground and introspection: on in development, off in production.
    graphiql_enabled: bool | None = None
    introspection_enabled: bool | None = None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.var_dir / 'clipforge.sqlite3'}"

    @property
    def effective_media_dir(self) -> Path:
        return self.media_dir or self.var_dir / "media"

    @property
    def effective_outbox_dir(self) -> Path:
        return self.outbox_dir or self.var_dir / "outbox"

    @property
    def uses_sendgrid(self) -> bool:
        if self.email_backend == "auto":
            return bool(self.sendgrid_api_key)
        return self.email_backend == "sendgrid"

    @property
    def graphiql(self) -> bool:
        return not self.is_production if self.graphiql_enabled is None else self.graphiql_enabled

    @property
    def introspection(self) -> bool:
        if self.introspection_enabled is None:
            return not self.is_production
        return self.introspection_enabled

    def prepare(self) -> Settings:
        """Make the local folders, fill development secrets, refuse unsafe production config."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.effective_media_dir.mkdir(parents=True, exist_ok=True)
        if self.effective_database_url.startswith("sqlite://"):
            db_path = self.effective_database_url.removeprefix("sqlite://")
            if db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        if self.is_production:
            self._refuse_weak_secrets()
        elif not (self.jwt_secret and self.jwt_refresh_secret):
            dev = _development_secrets(self.var_dir / "dev-secrets.json")
            self.jwt_secret = self.jwt_secret or dev["jwt_secret"]
            self.jwt_refresh_secret = self.jwt_refresh_secret or dev["jwt_refresh_secret"]
        if self.uses_sendgrid and not self.sendgrid_api_key:
            raise SettingsError("EMAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        return self

    def _refuse_weak_secrets(self) -> None:
        for name in ("jwt_secret", "jwt_refresh_secret"):
            if len(getattr(self, name)) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    f"{name.upper()} must be set to at least {MIN_SECRET_LENGTH} characters "
                    "in production"
                )
        if self.jwt_secret == self.jwt_refresh_secret:
            raise SettingsError("JWT_SECRET and JWT_REFRESH_SECRET must differ")


def _development_secrets(path: Path) -> dict[str, str]:
    """Secrets made once per checkout and kept under var/ (mode 0600), never in the repo."""
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return data
    data = {
        "jwt_secret": secrets.token_urlsafe(48),
        "jwt_refresh_secret": secrets.token_urlsafe(48),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    return data
