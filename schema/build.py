"""The Schema object: the domain types merged, with caches, limits and error codes."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.admin import AdminMutation, AdminQuery
from schema.auth import AuthMutation, AuthQuery
from schema.errors import ErrorCodes, error_extensions, masked_errors
from schema.features import FeatureQuery, feature_enum
from schema.generation import GenerationSubscription, generation_types
from schema.limits import BoundedParserCache, BoundedValidationCache, query_limits
from schema.retry_after import RetryAfter
from schema.router import FreshWebSocketAuth
from services.catalog import Catalog

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000
CACHE_SIZE = 256


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (coded, or the query's own fault) are answers, not log noise;
        # unexpected ones are logged where they are masked (schema.errors). A document that
        # does not parse never reaches the extensions: code its error here.
        for error in errors:
            if error.path is None and "code" not in (error.extensions or {}):
                error.extensions = {**(error.extensions or {}), **error_extensions(error)}


def build_schema(catalog: Catalog, *, introspection: bool = True) -> strawberry.Schema:
    feature = feature_enum(catalog)
    generation_query, generation_mutation = generation_types(feature)
    query = merge_types("Query", (AuthQuery, AdminQuery, FeatureQuery, generation_query))
    mutation = merge_types("Mutation", (AuthMutation, AdminMutation, generation_mutation))
    subscription = merge_types("Subscription", (GenerationSubscription,))
    # Built once, so the validation cache (keyed by the rule classes) keeps hitting.
    rules: list[type[ASTValidationRule]] = [query_limits(MAX_DEPTH, MAX_ALIASES)]
    extensions: list[Callable[[], SchemaExtension]] = [
        ErrorCodes,
        RetryAfter,
        FreshWebSocketAuth,
        masked_errors,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: BoundedParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: BoundedValidationCache(maxsize=CACHE_SIZE),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(query=query, mutation=mutation, subscription=subscription, extensions=extensions)
