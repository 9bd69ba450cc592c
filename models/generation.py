"""Video generations: a durable job row, written before the provider is called."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.user import User


class GenerationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {GenerationStatus.SUCCEEDED, GenerationStatus.FAILED, GenerationStatus.CANCELED}
)


class Generation(Model):
    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="generations", on_delete=fields.CASCADE
    )
    feature = fields.CharField(max_length=64)
    prompt = fields.TextField()
    status = fields.CharEnumField(GenerationStatus, max_length=16, default=GenerationStatus.QUEUED)
    idempotency_key = fields.CharField(max_length=255, null=True)

    provider = fields.CharField(max_length=32)
    model = fields.CharField(max_length=255)
    arguments: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=128, null=True, db_index=True)

    input_path = fields.CharField(max_length=512)
    input_sha256 = fields.CharField(max_length=64)
    input_size = fields.IntField()

    output: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # our copy of the video: {url, content_type, file_name, file_size}
    video: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    seed = fields.BigIntField(null=True)
    error_code = fields.CharField(max_length=32, null=True)
    error_message = fields.TextField(null=True)
    error_details: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    queue_position = fields.IntField(null=True)
    logs: fields.JSONField[list[str]] = fields.JSONField(default=list)

    lease_owner = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.DatetimeField(null=True)

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "generations"
        unique_together = (("user", "idempotency_key"),)
        ordering = ["-created_at"]
