"""Emailed one-time login codes: one live code per email, kept as an HMAC."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OtpCode(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=320, unique=True)
    code_hmac = fields.CharField(max_length=64)
    sent_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)

    class Meta:
        table = "otp_codes"
