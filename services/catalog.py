"""The feature catalog: one video preset per theme, loaded once from a TOML file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

KEY_PATTERN = re.compile(r"^ai-[a-z0-9]+(-[a-z0-9]+)*$")
MAX_PROMPT_LENGTH = 2000


class CatalogError(ValueError):
    """The catalog file cannot be used; the message names the entry and the problem."""


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    title: str
    category: str
    prompt: str
    model: str | None = None
    arguments: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def enum_name(self) -> str:
        return enum_name(self.key)


def enum_name(key: str) -> str:
    """`ai-dance` -> `AI_DANCE`; a name that would start with a digit gets an `F_` prefix."""
    name = key.upper().replace("-", "_")
    return f"F_{name}" if name[:1].isdigit() else name


class Catalog:
    def __init__(self, features: list[Feature]):
        self._by_key = {feature.key: feature for feature in features}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str) -> Feature | None:
        return self._by_key.get(key)

    def keys(self) -> list[str]:
        return list(self._by_key)

    def in_category(self, category: str | None) -> list[Feature]:
        return [f for f in self._by_key.values() if category is None or f.category == category]


def load_catalog(path: Path) -> Catalog:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CatalogError(f"feature catalog {path} does not exist") from error
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"feature catalog {path} is not valid TOML: {error}") from error
    entries = data.get("feature")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"feature catalog {path} has no [[feature]] entries")
    features: list[Feature] = []
    seen: dict[str, int] = {}
    names: dict[str, str] = {}
    for index, entry in enumerate(entries, start=1):
        feature = _parse_entry(path, index, entry)
        if feature.key in seen:
            raise CatalogError(
                f"feature catalog {path}: duplicate key {feature.key!r} "
                f"(entries {seen[feature.key]} and {index})"
            )
        if feature.enum_name in names:
            raise CatalogError(
                f"feature catalog {path}: keys {names[feature.enum_name]!r} and "
                f"{feature.key!r} give the same GraphQL name {feature.enum_name}"
            )
        seen[feature.key] = index
        names[feature.enum_name] = feature.key
        features.append(feature)
    return Catalog(features)


def _parse_entry(path: Path, index: int, entry: object) -> Feature:
    where = f"feature catalog {path}, entry {index}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: not a table")
    key = entry.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise CatalogError(
            f"{where}: malformed key {key!r} (expected lowercase 'ai-' followed by words "
            "joined by '-')"
        )
    where = f"feature catalog {path}, feature {key!r}"
    values: dict[str, str] = {}
    for name in ("title", "category", "prompt"):
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{where}: {name} must be a non-empty string")
        values[name] = value.strip()
    if len(values["prompt"]) > MAX_PROMPT_LENGTH:
        raise CatalogError(f"{where}: prompt is longer than {MAX_PROMPT_LENGTH} characters")
    model = entry.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise CatalogError(f"{where}: model must be a non-empty string")
    arguments = entry.get("arguments", {})
    if not isinstance(arguments, dict):
        raise CatalogError(f"{where}: arguments must be a table")
    unknown = set(entry) - {"key", "title", "category", "prompt", "model", "arguments"}
    if unknown:
        raise CatalogError(f"{where}: unknown fields {sorted(unknown)}")
    return Feature(
        key=key,
        title=values["title"],
        category=values["category"],
        prompt=values["prompt"],
        model=model,
        arguments=MappingProxyType(dict(arguments)),
    )
