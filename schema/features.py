"""The Feature enum, generated from the catalog, and the features query."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from resolvers import features
from schema.context import GraphQLContext, app_context
from schema.types import FeatureInfo
from services.catalog import Catalog


def feature_enum(catalog: Catalog) -> type[Enum]:
    """`ai-dance` <-> `AI_DANCE`: the enum's value is the catalog key."""
    members = {feature.enum_name: feature.key for feature in catalog}
    enum = Enum("Feature", members)  # type: ignore[misc]
    return strawberry.enum(enum, description="A video theme from the feature catalog.")


@strawberry.type
class FeatureQuery:
    @strawberry.field(description="The feature catalog, optionally one category.")
    def features(
        self, info: Info[GraphQLContext, None], category: str | None = None
    ) -> list[FeatureInfo]:
        return [
            FeatureInfo.from_result(f) for f in features.list_features(app_context(info), category)
        ]
