"""FastAPI dependencies shared by the REST routers."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from resolvers.context import RequestContext, context_from_http
from services.container import Services
from services.errors import AppError, ErrorCode

BodyT = TypeVar("BodyT", bound=BaseModel)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def request_context(request: Request) -> RequestContext:
    return context_from_http(
        services_of(request),
        request.headers,
        client_host=request.client.host if request.client else None,
        base_url=str(request.base_url),
    )


async def read_body(request: Request, model: type[BodyT]) -> BodyT:
    """A JSON or form body, validated; every failure is a VALIDATION_FAILED."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    try:
        if content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.form(max_files=0, max_fields=20)
            data = {key: value for key, value in form.items() if isinstance(value, str)}
        else:
            data = json.loads(await request.body() or b"null")
    except (ValueError, RecursionError) as error:  # bad JSON, bad UTF-8, absurd nesting
        raise AppError(ErrorCode.VALIDATION_FAILED, "the body is not valid JSON") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = [
            {"loc": [str(part) for part in item["loc"]], "msg": item["msg"]}
            for item in error.errors()
        ]
        raise AppError(
            ErrorCode.VALIDATION_FAILED, "the request body is not valid", {"fields": fields}
        ) from error
