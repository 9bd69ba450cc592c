"""POST /webhooks/fal: fal's signed completion callback (set up when PUBLIC_BASE_URL is)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from resolvers.webhooks import receive_fal_webhook
from rest.deps import services_of

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "/fal",
    summary="fal.ai completion webhook (Ed25519-signed; answers 401 when the signature fails)",
)
async def fal_webhook(request: Request) -> dict[str, str]:
    body = await request.body()  # the signature covers the raw bytes
    return await receive_fal_webhook(services_of(request), request.headers, body)
