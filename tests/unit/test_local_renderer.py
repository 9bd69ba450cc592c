"""The local preview renderer: a real H.264 MP4, checked by decoding it with PyAV."""

from __future__ import annotations

import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import av
import pytest
from PIL import Image, ImageDraw

from services.errors import AppError, ErrorCode
from services.providers import local_renderer
from services.providers.local_renderer import (
    LABEL,
    MOTIONS,
    RenderResult,
    motion_for,
    render_video,
)

CATEGORIES = ["dance", "fashion", "portrait", "motion", "fun", "romance", "fantasy", "nature"]


@dataclass
class Probe:
    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int  # as the container reports it
    duration: float  # the stream's duration in seconds
    metadata: dict[str, str]
    images: list[Image.Image]  # every decoded frame


def probe(path: Path) -> Probe:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        images = [frame.to_image() for frame in container.decode(stream)]
        assert stream.duration is not None and stream.average_rate is not None
        assert stream.time_base is not None
        return Probe(
            codec=stream.codec_context.name,
            pix_fmt=stream.codec_context.pix_fmt or "",
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(stream.average_rate),
            frames=stream.frames,
            duration=float(stream.duration * stream.time_base),
            metadata=dict(container.metadata),
            images=images,
        )


def jpeg(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def busy_picture(size: tuple[int, int]) -> bytes:
    """A busy synthetic picture (gradients, a grid and discs) so any camera move shows."""
    width, height = size
    card = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
            Image.radial_gradient("L").resize(size),
        ],
    )
    draw = ImageDraw.Draw(card)
    for x in range(0, width, 50):
        draw.line([(x, 0), (x, height)], fill=(255, 255, 255), width=3)
    for y in range(0, height, 50):
        draw.line([(0, y), (width, y)], fill=(0, 0, 0), width=3)
    for index in range(12):
        x, y = (index * 397) % width, (index * 211) % height
        draw.ellipse([x, y, x + width // 10, y + width // 10], fill=(255, 200, 0))
    return jpeg(card)


@pytest.fixture(scope="module")
def portrait(samples: Path) -> bytes:
    return (samples / "portrait.jpg").read_bytes()


@pytest.fixture(scope="module")
def rocket(samples: Path) -> bytes:
    return (samples / "rocket.jpg").read_bytes()


def assert_valid_mp4(path: Path, result: RenderResult, *, max_side: int = 720) -> Probe:
    info = probe(path)
    assert info.codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert (info.width, info.height) == (result.width, result.height)
    assert info.width % 2 == 0 and info.height % 2 == 0
    assert max(info.width, info.height) <= max_side
    assert info.fps == result.fps >= 24
    assert 3.0 <= info.duration <= 5.0
    assert info.duration == pytest.approx(result.duration, abs=1e-3)
    assert info.frames == len(info.images) == result.frames
    assert result.frames == round(result.duration * result.fps)
    assert result.file_size == os.path.getsize(path) > 0
    return info


# -- the file ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rocket_clip(tmp_path_factory: pytest.TempPathFactory, rocket: bytes):
    out = tmp_path_factory.mktemp("clip") / "rocket.mp4"
    result = render_video(rocket, out, category="portrait", seed=1)
    return out, result, probe(out)


def test_renders_a_real_h264_mp4(rocket_clip, rocket: bytes, mad):
    out, result, _ = rocket_clip

    assert (result.width, result.height) == (640, 426)  # 427 rounded down to even
    assert (result.fps, result.frames, result.duration) == (24, 96, 4.0)
    assert result.motion == MOTIONS["portrait"]
    info = assert_valid_mp4(out, result)
    assert mad(info.images[0], info.images[-1]) > 2, "the camera did not move"
    assert mad(info.images[0], Image.open(BytesIO(rocket))) < 8, "first frame is the photo"


def test_is_labelled_as_a_local_preview(rocket_clip):
    metadata = rocket_clip[2].metadata

    assert metadata["title"] == LABEL == "Clipforge local preview (not an AI model)"
    assert metadata["comment"] == LABEL


def test_moov_atom_comes_first_for_streaming(rocket_clip):
    head = rocket_clip[0].read_bytes()

    assert 0 <= head.index(b"moov") < head.index(b"mdat")


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1600, 1000), (720, 450)), ((1000, 1600), (450, 720)), ((1601, 1001), (720, 450))],
)
def test_large_images_are_downscaled_to_even_sizes(tmp_path: Path, size, expected):
    out = tmp_path / "large.mp4"

    result = render_video(busy_picture(size), out, category="nature", seed=3)

    assert (result.width, result.height) == expected
    assert_valid_mp4(out, result)


def test_max_side_fps_and_duration_are_honoured(tmp_path: Path, portrait: bytes):
    out = tmp_path / "small.mp4"

    result = render_video(
        portrait, out, category="dance", seed=4, duration=3.0, fps=30, max_side=300
    )

    assert (result.width, result.height, result.fps, result.frames) == (300, 300, 30, 90)
    info = assert_valid_mp4(out, result, max_side=300)
    assert info.duration == pytest.approx(3.0)


@pytest.mark.parametrize(
    "arguments",
    [{"fps": 12}, {"fps": 240}, {"duration": 1.0}, {"duration": 30.0}, {"max_side": 16}],
)
def test_out_of_range_arguments_are_refused(tmp_path: Path, portrait: bytes, arguments):
    with pytest.raises(ValueError):
        render_video(portrait, tmp_path / "x.mp4", category="fun", seed=1, **arguments)
    assert list(tmp_path.iterdir()) == []


# -- motions ------------------------------------------------------------------------------------


def test_every_category_has_a_motion_and_there_are_at_least_five():
    assert sorted(MOTIONS) == sorted(CATEGORIES)
    assert len(set(MOTIONS.values())) >= 5
    assert motion_for("portrait") == MOTIONS["portrait"]
    assert motion_for("no-such-category") == local_renderer.DEFAULT_MOTION
    assert local_renderer.DEFAULT_MOTION in MOTIONS.values()


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_renders_and_moves(tmp_path: Path, portrait: bytes, mad, category):
    out = tmp_path / f"{category}.mp4"

    result = render_video(portrait, out, category=category, seed=5, max_side=256)

    assert result.motion == MOTIONS[category]
    info = assert_valid_mp4(out, result, max_side=256)
    assert mad(info.images[0], info.images[-1]) > 3, f"{result.motion} barely moves"
    middle = info.images[len(info.images) // 2]
    assert mad(info.images[0], middle) > 1, f"{result.motion} does not move midway"


def test_unknown_category_uses_the_default_motion(tmp_path: Path, portrait: bytes):
    result = render_video(portrait, tmp_path / "x.mp4", category="surprise", seed=1, max_side=128)
    assert result.motion == local_renderer.DEFAULT_MOTION


@pytest.mark.parametrize("category", CATEGORIES)
def test_the_camera_never_shows_past_the_photo_edge(tmp_path: Path, category):
    """A flat grey photo: any black border (sampling outside the photo) would show."""
    flat = jpeg(Image.new("RGB", (400, 250), (128, 128, 128)))
    out = tmp_path / "flat.mp4"

    render_video(flat, out, category=category, seed=6, max_side=128)

    for image in probe(out).images:
        low, high = image.convert("L").getextrema()
        assert isinstance(low, int) and isinstance(high, int)
        assert low >= 110 and high <= 146, f"frame has a border: {low}..{high}"


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_the_same_file(tmp_path: Path, portrait: bytes):
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"

    render_video(portrait, first, category="dance", seed=42, max_side=256)
    render_video(portrait, second, category="dance", seed=42, max_side=256)

    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("category", ["dance", "motion", "nature", "fantasy"])
def test_different_seeds_give_different_videos(tmp_path: Path, portrait: bytes, mad, category):
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"

    render_video(portrait, first, category=category, seed=1, max_side=256)
    render_video(portrait, second, category=category, seed=2, max_side=256)

    assert first.read_bytes() != second.read_bytes()
    frames_a, frames_b = probe(first).images, probe(second).images
    assert max(mad(a, b) for a, b in zip(frames_a, frames_b, strict=True)) > 2


# -- writing -----------------------------------------------------------------------------------


def test_writes_atomically_and_leaves_no_temp_files(tmp_path: Path, portrait: bytes):
    out = tmp_path / "nested" / "videos" / "clip.mp4"

    render_video(portrait, out, category="romance", seed=7, max_side=128)
    render_video(portrait, out, category="romance", seed=8, max_side=128)  # replaces it

    assert sorted(p.name for p in out.parent.iterdir()) == ["clip.mp4"]


def test_a_failed_render_leaves_nothing_behind(
    tmp_path: Path, portrait: bytes, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous video")
    real_encode = local_renderer._encode

    def failing_encode(path: Path, *args: object, **kwargs: object) -> None:
        real_encode(path, *args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(local_renderer, "_encode", failing_encode)

    with pytest.raises(RuntimeError, match="disk on fire"):
        render_video(portrait, out, category="motion", seed=1, max_side=128)

    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    assert out.read_bytes() == b"previous video"


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0broken"])
def test_an_unreadable_image_is_a_bad_request(tmp_path: Path, data: bytes):
    with pytest.raises(AppError) as caught:
        render_video(data, tmp_path / "clip.mp4", category="fun", seed=1)

    assert caught.value.code == ErrorCode.BAD_REQUEST
    assert list(tmp_path.iterdir()) == []
