"""fal's completion webhook: verify it, map its request id to a generation, wake the job."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from models.generation import FINAL_STATUSES
from services.container import Services
from services.errors import AppError, ErrorCode

log = logging.getLogger(__name__)


async def receive_fal_webhook(
    services: Services, headers: Mapping[str, str], body: bytes
) -> dict[str, str]:
    """Idempotent by request id: a repeated delivery (fal retries for hours) changes
    nothing. Only the request id is taken from the body; the job itself asks fal for the
    result, so the output always comes from the queue API by the stored request id."""
    if services.generations.provider_name != "fal":
        raise AppError(ErrorCode.NOT_FOUND, "no webhooks are expected: fal is not configured")
    delivery = await services.webhooks.verify(headers, body)
    generation = await services.generations.find_by_request_id(delivery.request_id)
    if generation is None:
        log.warning("fal webhook for an unknown request %s", delivery.request_id)
        return {"status": "ignored"}
    if generation.status in FINAL_STATUSES:
        return {"status": "duplicate"}
    services.generations.notify_completed(str(generation.id))
    return {"status": "accepted"}
