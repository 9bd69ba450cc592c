"""The REST error body: {"error", "code", "details"}, mapped once from the taxonomy."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from services.errors import HTTP_STATUS, AppError, ErrorCode

log = logging.getLogger(__name__)

STATUS_CODES = {
    status: code for code, status in HTTP_STATUS.items() if code is not ErrorCode.FORBIDDEN
}
STATUS_CODES[405] = ErrorCode.NOT_FOUND


def error_response(
    code: ErrorCode, message: str, details: dict[str, Any] | None = None, status: int | None = None
) -> JSONResponse:
    headers = {}
    retry_after = (details or {}).get("retry_after")
    if code is ErrorCode.RATE_LIMITED and retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    generation_id = (details or {}).get("id")
    if generation_id is not None:  # a generation exists (timed out or failed): say which
        headers["X-Generation-Id"] = str(generation_id)
    return JSONResponse(
        {"error": message, "code": code.value, "details": details or {}},
        status_code=status or HTTP_STATUS[code],
        headers=headers,
    )


async def app_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return error_response(error.code, error.message, error.details)


async def validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": item.get("msg", "")}
        for item in error.errors()
    ]
    return error_response(
        ErrorCode.VALIDATION_FAILED, "the request is not valid", {"fields": fields}
    )


async def http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = STATUS_CODES.get(error.status_code, ErrorCode.BAD_REQUEST)
    message = error.detail if isinstance(error.detail, str) else code.value.lower()
    response = error_response(code, message, status=error.status_code)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(ErrorCode.INTERNAL, "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
