"""The feature catalog, as clients see it."""

from __future__ import annotations

from resolvers.context import RequestContext
from resolvers.results import FeatureResult
from services.catalog import Feature
from services.errors import AppError, ErrorCode


def feature_result(ctx: RequestContext, feature: Feature) -> FeatureResult:
    settings = ctx.services.settings
    provider = ctx.services.generations.provider_name
    model = "local-preview" if provider == "local" else feature.model or settings.fal_model
    return FeatureResult(
        key=feature.key,
        title=feature.title,
        category=feature.category,
        default_prompt=feature.prompt,
        model=model,
    )


def list_features(ctx: RequestContext, category: str | None = None) -> list[FeatureResult]:
    catalog = ctx.services.catalog
    return [feature_result(ctx, f) for f in catalog.in_category(category)]


def require_feature(ctx: RequestContext, key: str) -> Feature:
    feature = ctx.services.catalog.get(key)
    if feature is None:
        raise AppError(
            ErrorCode.VALIDATION_FAILED, f"unknown feature {key!r}", {"field": "feature"}
        )
    return feature
