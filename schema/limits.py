"""Limits on what one GraphQL document may cost, checked in linear time.

Depth and aliases are counted with fragments expanded, but each fragment is measured
once (memoised), so a document whose fragments spread each other twice per level cannot
make validation exponential. Only short documents enter the parse and validation
caches, so large distinct documents cannot pin memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from graphql.language import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ValidationRule
from strawberry.extensions import ParserCache, ValidationCache

MAX_CACHED_QUERY_LENGTH = 16 * 1024


class _Cost:
    """Depth and alias count of selection sets, each fragment measured once."""

    def __init__(self, document: DocumentNode):
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._memo: dict[str, tuple[int, int]] = {}
        self._visiting: set[str] = set()

    def of(self, selection_set: SelectionSetNode | None) -> tuple[int, int]:
        depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                child_depth, child_aliases = self.of(selection.selection_set)
                depth = max(depth, 1 + child_depth)
                aliases += child_aliases + (1 if selection.alias else 0)
            elif isinstance(selection, InlineFragmentNode):
                child_depth, child_aliases = self.of(selection.selection_set)
                depth, aliases = max(depth, child_depth), aliases + child_aliases
            elif isinstance(selection, FragmentSpreadNode):
                child_depth, child_aliases = self._fragment(selection.name.value)
                depth, aliases = max(depth, child_depth), aliases + child_aliases
        return depth, aliases

    def _fragment(self, name: str) -> tuple[int, int]:
        if name in self._memo:
            return self._memo[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._visiting:  # unknown or cyclic: other rules say so
            return 0, 0
        self._visiting.add(name)
        cost = self.of(fragment.selection_set)
        self._visiting.discard(name)
        self._memo[name] = cost
        return cost


def query_limits(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    class QueryLimits(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> Any:
            cost = _Cost(node)
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth, aliases = cost.of(definition.selection_set)
                if depth > max_depth:
                    self.report_error(
                        GraphQLError(f"the query is {depth} levels deep; at most {max_depth}")
                    )
                if aliases > max_aliases:
                    self.report_error(
                        GraphQLError(f"the query has {aliases} aliases; at most {max_aliases}")
                    )
            return BREAK

    return QueryLimits


class BoundedParserCache(ParserCache):
    def on_parse(self) -> Iterator[None]:
        if len(self.execution_context.query or "") > MAX_CACHED_QUERY_LENGTH:
            yield  # parsed as usual, not kept
            return
        yield from super().on_parse()


class BoundedValidationCache(ValidationCache):
    def on_validate(self) -> Iterator[None]:
        if len(self.execution_context.query or "") > MAX_CACHED_QUERY_LENGTH:
            yield
            return
        yield from super().on_validate()
