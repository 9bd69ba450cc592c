"""Fixtures for the pure unit tests (image intake, local renderer): no app, no database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"

Diff = Callable[[Image.Image, Image.Image], float]


@pytest.fixture(scope="session")
def samples() -> Path:
    assert SAMPLES.is_dir(), f"sample photos not found at {SAMPLES}"
    return SAMPLES


def _mean_abs_diff(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute difference (0..255) of two images compared as 64x64 RGB thumbnails."""
    size = (64, 64)
    a = first.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    b = second.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    histogram = ImageChops.difference(a, b).histogram()  # 3 x 256 bins
    total = sum((index % 256) * count for index, count in enumerate(histogram))
    return total / (size[0] * size[1] * 3)


@pytest.fixture(scope="session")
def mad() -> Diff:
    return _mean_abs_diff
