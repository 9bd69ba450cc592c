"""RATE_LIMITED over GraphQL: the HTTP answer becomes 429 with a Retry-After header, as on
REST, besides `extensions.code` and `extensions.details.retry_after` in the error."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from services.errors import AppError, ErrorCode


class RetryAfter(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        retry_after: int | None = None
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if isinstance(original, AppError) and original.code is ErrorCode.RATE_LIMITED:
                seconds = int(original.details.get("retry_after", 1))
                retry_after = max(retry_after or 0, seconds)
        response = getattr(self.execution_context.context, "response", None)
        if retry_after is None or response is None:
            return
        response.status_code = 429
        response.headers["Retry-After"] = str(retry_after)
