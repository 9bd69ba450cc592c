"""How errors look in GraphQL: `extensions.code` (+ `details`) for every AppError,
unexpected exceptions masked, GraphQL's own validation errors left as they are."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from fastapi.responses import JSONResponse
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from services.errors import AppError, ErrorCode

log = logging.getLogger(__name__)


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, AppError)):
        return False
    if error.path is None:  # before execution: the document or its variables are at fault
        return False
    log.error("unexpected error in GraphQL resolver", exc_info=original)
    return True


def masked_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=should_mask, error_message="Internal server error.")


class ErrorCodes(SchemaExtension):
    """Adds the taxonomy's code to every error a resolver raised (after masking)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or []
        for error in errors:
            error.extensions = {**(error.extensions or {}), **error_extensions(error)}


def error_extensions(error: GraphQLError) -> dict[str, object]:
    original = error.original_error
    if isinstance(original, AppError):
        return {"code": original.code.value, "details": original.details}
    if error.path is None:  # parsing, validation, variable coercion: the client's mistake
        return {"code": "GRAPHQL_VALIDATION_FAILED"}
    return {"code": ErrorCode.INTERNAL.value}


def graphql_error_response(error: AppError) -> JSONResponse:
    """An error raised before execution (CSRF guard, upload authentication)."""
    body = {
        "data": None,
        "errors": [
            {
                "message": error.message,
                "extensions": {"code": error.code.value, "details": error.details},
            }
        ],
    }
    return JSONResponse(body, status_code=error.http_status)
