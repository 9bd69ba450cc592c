"""POST /api/ai-<feature> (the legacy route) and /api/generations/{id}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from resolvers import generation
from resolvers.context import RequestContext
from resolvers.results import GenerationResult
from rest.deps import request_context
from services.errors import AppError, ErrorCode
from services.uploads import read_upload

router = APIRouter(prefix="/api", tags=["generations"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary"},
                        "prompt": {"type": "string", "maxLength": 2000},
                    },
                }
            }
        },
    }
}


def status_body(result: GenerationResult, ctx: RequestContext) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result.id,
        "feature": result.feature,
        "status": result.status,
        "prompt": result.prompt,
        "queue_position": result.queue_position,
        "logs": result.logs,
        "output": result.output,
        "error": None,
        "created_at": result.created_at.isoformat(),
        "finished_at": result.finished_at.isoformat() if result.finished_at else None,
    }
    if result.error_code:
        body["error"] = {
            "code": result.error_code,
            "message": result.error_message,
            "details": result.error_details or {},
        }
    return body


@router.get("/generations/{generation_id}", summary="A generation's status and output")
async def get_generation(
    generation_id: str, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    return status_body(await generation.get_generation(ctx, generation_id), ctx)


@router.delete("/generations/{generation_id}", summary="Cancel an unfinished generation")
async def cancel_generation(
    generation_id: str, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    return status_body(await generation.cancel_generation(ctx, generation_id), ctx)


@router.post(
    "/{feature}",
    summary="Turn a photo into a video (feature keys: see the features query)",
    openapi_extra=UPLOAD_BODY,
    responses={200: {"description": "The provider's output JSON, video URL pointing at our copy"}},
)
async def generate(
    feature: str, request: Request, ctx: RequestContext = Depends(request_context)
) -> JSONResponse:
    if ctx.services.catalog.get(feature) is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no route /api/{feature}")
    await ctx.require_user()  # before a single byte of the upload is read
    max_bytes = ctx.services.settings.max_upload_bytes
    form = await request.form(max_files=1, max_fields=10)
    image = form.get("image")
    if not isinstance(image, UploadFile):
        raise AppError(ErrorCode.BAD_REQUEST, "the image file is missing", {"field": "image"})
    prompt = form.get("prompt")
    respond_async = "respond-async" in request.headers.get("prefer", "").lower()
    result = await generation.generate_video(
        ctx,
        feature_key=feature,
        image=await read_upload(image, max_bytes),
        prompt=prompt if isinstance(prompt, str) else None,
        wait=not respond_async,
        idempotency_key=request.headers.get("idempotency-key"),
    )
    headers = {"X-Generation-Id": result.id}
    if respond_async or not result.is_final:
        location = f"/api/generations/{result.id}"
        body = {"id": result.id, "status": result.status}
        return JSONResponse(body, status_code=202, headers={**headers, "Location": location})
    if result.output is None:
        raise AppError(
            ErrorCode.PROVIDER_ERROR, f"the generation was {result.status}", {"id": result.id}
        )
    return JSONResponse(result.output, headers=headers)
