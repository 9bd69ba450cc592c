"""The local preview renderer: a real H.264 MP4 made from the photo with a camera motion.

This is not an AI model: it moves a virtual camera over the still photo (zoom, pan,
sway...) chosen by the feature's category, and the file says so in its metadata.
Everything here is synchronous and CPU bound: callers run it in a worker thread.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from io import BytesIO
from pathlib import Path
from typing import Final, NamedTuple

import av
from PIL import Image

from services.errors import AppError, ErrorCode

LABEL: Final = "Clipforge local preview (not an AI model)"
DEFAULT_MOTION: Final = "zoom_in"
MOTIONS: dict[str, str] = {
    "portrait": "zoom_in",
    "romance": "zoom_out",
    "motion": "pan",
    "fashion": "tilt",
    "dance": "sway",
    "fun": "bounce",
    "nature": "drift",
    "fantasy": "float",
}

MIN_FPS: Final = 24
MAX_FPS: Final = 60
MIN_DURATION: Final = 3.0
MAX_DURATION: Final = 5.0
MIN_SIDE: Final = 64
OVERSCAN: Final = 1.3  # the source is kept up to this much larger than the output
EDGE: Final = 2.0  # source pixels kept clear of the border: sampling never reaches outside
# A fixed thread count keeps x264's output byte-identical on every host (it depends on it).
ENCODER_OPTIONS: Final = {"preset": "veryfast", "crf": "23", "threads": "4"}
MUXER_OPTIONS: Final = {"movflags": "+faststart"}


@dataclass(frozen=True, slots=True)
class RenderResult:
    width: int
    height: int
    fps: int
    frames: int
    duration: float
    file_size: int
    motion: str


class Camera(NamedTuple):
    """One frame's camera: zoom (1 = the whole photo), pan as a fraction (-1..1) of the room
    left by the zoom on each axis, and a rotation in degrees."""

    zoom: float
    x: float
    y: float
    angle: float = 0.0


CameraPath = Callable[[float], Camera]  # t in [0, 1] -> camera


@dataclass(frozen=True, slots=True)
class _Geometry:
    src_w: int
    src_h: int
    out_w: int
    out_h: int

    @property
    def base(self) -> float:
        """Source pixels per output pixel at zoom 1 (the largest view inside the source)."""
        return min(self.src_w / self.out_w, self.src_h / self.out_h)


def motion_for(category: str) -> str:
    return MOTIONS.get(category, DEFAULT_MOTION)


def render_video(
    image: bytes,
    out_path: Path,
    *,
    category: str,
    seed: int,
    duration: float = 4.0,
    fps: int = 24,
    max_side: int = 720,
) -> RenderResult:
    """Render `image` (JPEG/PNG bytes) to an H.264 MP4 at `out_path`, atomically."""
    frames = _frame_count(duration, fps, max_side)
    motion = motion_for(category)
    photo, (out_w, out_h) = _load(image, max_side)
    source = _source(photo, out_w, out_h)
    geometry = _Geometry(source.width, source.height, out_w, out_h)
    cameras = _cover(_cameras(motion, seed, frames), geometry)
    _write_atomically(out_path, lambda tmp: _encode(tmp, source, geometry, cameras, fps))
    return RenderResult(
        width=out_w,
        height=out_h,
        fps=fps,
        frames=frames,
        duration=frames / fps,
        file_size=out_path.stat().st_size,
        motion=motion,
    )


# -- inputs and sizes ---------------------------------------------------------------------


def _frame_count(duration: float, fps: int, max_side: int) -> int:
    if not MIN_FPS <= fps <= MAX_FPS:
        raise ValueError(f"fps must be between {MIN_FPS} and {MAX_FPS}, got {fps}")
    frames = round(duration * fps)
    if not MIN_DURATION <= frames / fps <= MAX_DURATION:
        raise ValueError(f"duration must be between {MIN_DURATION} and {MAX_DURATION} s")
    if max_side < MIN_SIDE:
        raise ValueError(f"max_side must be at least {MIN_SIDE}, got {max_side}")
    return frames


def _load(image: bytes, max_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """Decode the photo (a big JPEG at a reduced DCT scale: much faster) and the output size."""
    try:
        with Image.open(BytesIO(image), formats=["JPEG", "PNG"]) as photo:
            out_w, out_h = output_size(photo.width, photo.height, max_side)
            photo.draft("RGB", (math.ceil(out_w * OVERSCAN), math.ceil(out_h * OVERSCAN)))
            return photo.convert("RGB"), (out_w, out_h)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise AppError(ErrorCode.BAD_REQUEST, "the image is not readable") from error


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Keep the aspect ratio, the long side at most `max_side`, both sides even."""
    scale = min(1.0, max_side / max(width, height))
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, int(value + 1e-6) // 2 * 2)


def _source(photo: Image.Image, out_w: int, out_h: int) -> Image.Image:
    """The photo reduced to about OVERSCAN times the output size (never enlarged): zooming in
    stays sharp, and per-frame sampling never has to minify much (which would alias)."""
    scale = min(1.0, OVERSCAN * max(out_w / photo.width, out_h / photo.height))
    size = (max(out_w, round(photo.width * scale)), max(out_h, round(photo.height * scale)))
    if size == photo.size:
        return photo
    return photo.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


# -- motions --------------------------------------------------------------------------------


def _ease(t: float) -> float:
    """Ease in and out (sine)."""
    return 0.5 - 0.5 * math.cos(math.pi * t)


def _lerp(start: float, end: float, t: float) -> float:
    return start + (end - start) * t


def _sign(rng: random.Random) -> float:
    return rng.choice((-1.0, 1.0))


def _zoom_in(rng: random.Random) -> CameraPath:
    """A slow push in towards a point a little above the centre: the "live photo" feel."""
    end = rng.uniform(1.14, 1.22)
    fx, fy = rng.uniform(-0.35, 0.35), rng.uniform(-0.5, 0.1)

    def path(t: float) -> Camera:
        e = _ease(t)
        return Camera(_lerp(1.0, end, e), fx * e, fy * e)

    return path


def _zoom_out(rng: random.Random) -> CameraPath:
    """Start close on a detail and pull back to the whole picture, settling a slight tilt."""
    start = rng.uniform(1.18, 1.26)
    fx, fy = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.2)
    tilt = _sign(rng) * rng.uniform(0.6, 1.2)

    def path(t: float) -> Camera:
        e = _ease(t)
        return Camera(_lerp(start, 1.02, e), fx * (1 - e), fy * (1 - e), tilt * (1 - e))

    return path


def _pan(rng: random.Random) -> CameraPath:
    """A horizontal pan across the picture, left to right or right to left."""
    zoom, direction = rng.uniform(1.16, 1.24), _sign(rng)
    y = rng.uniform(-0.3, 0.3)

    def path(t: float) -> Camera:
        return Camera(zoom, direction * _lerp(-0.95, 0.95, _ease(t)), y)

    return path


def _tilt(rng: random.Random) -> CameraPath:
    """A vertical tilt (head to toe or back up) with a gentle push in: a catwalk reveal."""
    zoom, direction = rng.uniform(1.16, 1.22), _sign(rng)
    x = rng.uniform(-0.25, 0.25)

    def path(t: float) -> Camera:
        e = _ease(t)
        return Camera(zoom + 0.04 * e, x, direction * _lerp(-0.95, 0.95, e))

    return path


def _sway(rng: random.Random) -> CameraPath:
    """Rock from side to side with the beat, the camera rolling with the sway."""
    amplitude = rng.uniform(2.0, 3.5)
    cycles, phase = rng.choice((1.25, 1.5, 1.75, 2.25)), rng.uniform(0, math.tau)

    def path(t: float) -> Camera:
        wave = math.sin(math.tau * cycles * t + phase)
        return Camera(1.06 + 0.05 * _ease(t), 0.7 * wave, 0.15 * wave * wave, amplitude * wave)

    return path


def _bounce(rng: random.Random) -> CameraPath:
    """Hop up and down a few times with a little shake and a squash on each landing."""
    hops, height = rng.choice((3, 4, 5)), rng.uniform(0.6, 0.95)
    shake, phase = rng.uniform(0.8, 1.6), rng.uniform(0, 0.5)
    drift = _sign(rng) * rng.uniform(0.3, 0.6)

    def path(t: float) -> Camera:
        hop = abs(math.sin(math.pi * (hops * t + phase)))
        angle = shake * math.sin(math.tau * hops * t)
        return Camera(1.12 + 0.04 * (1 - hop), drift * _ease(t), 0.9 - 1.8 * height * hop, angle)

    return path


def _drift(rng: random.Random) -> CameraPath:
    """A slow Ken Burns drift from one corner region to another with a slight push in."""
    heading = rng.uniform(0, math.tau)
    sx, sy = 0.8 * math.cos(heading), 0.8 * math.sin(heading)

    def path(t: float) -> Camera:
        e = _ease(t)
        return Camera(_lerp(1.12, 1.2, e), _lerp(-sx, sx, e), _lerp(-sy, sy, e))

    return path


def _float(rng: random.Random) -> CameraPath:
    """A dreamy float: the camera glides on an ellipse while slowly rolling and pushing in."""
    turn, phase, spin = _sign(rng), rng.uniform(0, math.tau), rng.uniform(0.8, 1.5)

    def path(t: float) -> Camera:
        a = phase + turn * 0.75 * math.tau * _ease(t)
        zoom = _lerp(1.1, 1.2, _ease(t))
        return Camera(zoom, 0.75 * math.cos(a), 0.55 * math.sin(a), spin * math.sin(a))

    return path


_FACTORIES: Final[dict[str, Callable[[random.Random], CameraPath]]] = {
    "zoom_in": _zoom_in,
    "zoom_out": _zoom_out,
    "pan": _pan,
    "tilt": _tilt,
    "sway": _sway,
    "bounce": _bounce,
    "drift": _drift,
    "float": _float,
}


def _cameras(motion: str, seed: int, frames: int) -> list[Camera]:
    path = _FACTORIES[motion](random.Random(seed))
    return [path(i / (frames - 1)) for i in range(frames)]


# -- geometry -------------------------------------------------------------------------------


def _half_extents(camera: Camera, geometry: _Geometry, zoom: float) -> tuple[float, float]:
    """Half the width and height, in source pixels, of the rotated view at `zoom`."""
    theta = math.radians(camera.angle)
    cos, sin = abs(math.cos(theta)), abs(math.sin(theta))
    scale = geometry.base / zoom
    half_w, half_h = geometry.out_w / 2, geometry.out_h / 2
    return scale * (half_w * cos + half_h * sin), scale * (half_w * sin + half_h * cos)


def _cover(cameras: list[Camera], geometry: _Geometry) -> list[Camera]:
    """Scale every zoom by one common factor so that no frame shows past the photo's edge
    (rotation needs extra zoom); one factor for all frames, so the zoom never pumps."""
    room_w, room_h = geometry.src_w / 2 - EDGE, geometry.src_h / 2 - EDGE
    factor = 1.0
    for camera in cameras:
        half_w, half_h = _half_extents(camera, geometry, camera.zoom)
        factor = max(factor, half_w / room_w, half_h / room_h)
    return [camera._replace(zoom=camera.zoom * factor) for camera in cameras]


def _view(camera: Camera, geometry: _Geometry) -> tuple[float, float, float, float]:
    """Centre (source pixels), source pixels per output pixel, and angle (radians)."""
    half_w, half_h = _half_extents(camera, geometry, camera.zoom)
    room_x = max(0.0, geometry.src_w / 2 - EDGE - half_w)
    room_y = max(0.0, geometry.src_h / 2 - EDGE - half_h)
    cx = geometry.src_w / 2 + _clamp(camera.x) * room_x
    cy = geometry.src_h / 2 + _clamp(camera.y) * room_y
    return cx, cy, geometry.base / camera.zoom, math.radians(camera.angle)


def _affine(camera: Camera, geometry: _Geometry) -> tuple[float, float, float, float, float, float]:
    """The output-to-source affine map of one frame (for Image.transform)."""
    cx, cy, scale, theta = _view(camera, geometry)
    a, b = scale * math.cos(theta), -scale * math.sin(theta)
    d, e = scale * math.sin(theta), scale * math.cos(theta)
    ox, oy = geometry.out_w / 2, geometry.out_h / 2
    return (a, b, cx - a * ox - b * oy, d, e, cy - d * ox - e * oy)


def _box(camera: Camera, geometry: _Geometry) -> tuple[float, float, float, float]:
    """The (sub-pixel) source rectangle seen by an unrotated frame."""
    cx, cy, scale, _ = _view(camera, geometry)
    half_w, half_h = scale * geometry.out_w / 2, scale * geometry.out_h / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _renderer(
    source: Image.Image, geometry: _Geometry, cameras: list[Camera]
) -> Callable[[Camera], Image.Image]:
    """Unrotated clips are cropped and resized (separable, antialiased, fast); clips that
    roll use an affine transform. One method per clip, so no frame flickers."""
    size = (geometry.out_w, geometry.out_h)
    if all(camera.angle == 0 for camera in cameras):
        return lambda camera: source.resize(
            size, Image.Resampling.BICUBIC, box=_box(camera, geometry)
        )
    return lambda camera: source.transform(
        size, Image.Transform.AFFINE, _affine(camera, geometry), Image.Resampling.BILINEAR
    )


# -- encoding -------------------------------------------------------------------------------


def _encode(
    path: Path, source: Image.Image, geometry: _Geometry, cameras: list[Camera], fps: int
) -> None:
    with av.open(str(path), mode="w", format="mp4", options=dict(MUXER_OPTIONS)) as container:
        container.metadata["title"] = LABEL
        container.metadata["comment"] = LABEL
        stream = container.add_stream("libx264", rate=fps, options=dict(ENCODER_OPTIONS))
        stream.width, stream.height = geometry.out_w, geometry.out_h
        stream.pix_fmt = "yuv420p"
        time_base = Fraction(1, fps)
        render = _renderer(source, geometry, cameras)
        for index, camera in enumerate(cameras):
            image = render(camera)
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = index, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _write_atomically(out_path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temp file in the same directory, then rename over `out_path`."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
