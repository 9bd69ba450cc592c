"""Image intake: validate an upload by its content and normalise it to a clean RGB JPEG.

Everything here is synchronous and CPU bound: callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from typing import Final, cast

import pillow_heif
from PIL import Image, ImageCms, ImageOps

from services.errors import AppError, ErrorCode

pillow_heif.register_heif_opener()

# Pillow format names we accept. "MPO" is how Pillow names a JPEG that carries extra
# images (phone cameras write those); it is reported as "JPEG".
ACCEPTED_FORMATS: Final = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF", "GIF", "TIFF", "BMP"})
MIN_SIDE: Final = 64
MAX_SIDE: Final = 16_384  # JPEG stores at most 65 535 px a side; no photo is this wide
JPEG_QUALITY: Final = 92
OUTPUT_CONTENT_TYPE: Final = "image/jpeg"
WHITE: Final = (255, 255, 255)

# What a decoder (Pillow's or pillow_heif's) raises on a broken file.
_DECODE_ERRORS: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    RuntimeError,
    IndexError,
    struct.error,
)
_SRGB: Final = ImageCms.createProfile("sRGB")


@dataclass(frozen=True, slots=True)
class PreparedImage:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    source_format: str
    source_size: int


def prepare_image(raw: bytes, *, max_bytes: int, max_pixels: int) -> PreparedImage:
    """Validate `raw` by content and return it as an upright RGB JPEG without metadata."""
    _check_byte_size(raw, max_bytes)
    with _open(raw, max_pixels) as image:
        source_format = _check_format(image)
        _check_dimensions(image.size, max_pixels)
        _decode(image, max_pixels)
        upright = _orient(image)
    _check_dimensions(upright.size, max_pixels)
    data = _encode_jpeg(_to_rgb(upright))
    return PreparedImage(
        data=data,
        content_type=OUTPUT_CONTENT_TYPE,
        width=upright.width,
        height=upright.height,
        sha256=hashlib.sha256(data).hexdigest(),
        source_format=source_format,
        source_size=len(raw),
    )


def _check_byte_size(raw: bytes, max_bytes: int) -> None:
    if len(raw) == 0:
        raise AppError(ErrorCode.BAD_REQUEST, "the image is empty")
    if len(raw) > max_bytes:
        raise AppError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the image is larger than {max_bytes} bytes",
            {"max_bytes": max_bytes},
        )


def _too_many_pixels(max_pixels: int) -> AppError:
    return AppError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"the image has more than {max_pixels} pixels",
        {"max_pixels": max_pixels},
    )


@contextmanager
def _open(raw: bytes, max_pixels: int) -> Iterator[Image.Image]:
    """Open (read the header only); Pillow's own bomb check is mapped to our pixel limit."""
    try:
        image = Image.open(BytesIO(raw))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(max_pixels) from error
    except _DECODE_ERRORS as error:
        raise AppError(ErrorCode.BAD_REQUEST, "the file is not a readable image") from error
    with image:
        yield image


def _check_format(image: Image.Image) -> str:
    name = image.format or "unknown"
    if name not in ACCEPTED_FORMATS:
        raise AppError(ErrorCode.BAD_REQUEST, f"unsupported image format {name}", {"format": name})
    return "JPEG" if name == "MPO" else name


def _check_dimensions(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels)
    if max(width, height) > MAX_SIDE:
        raise AppError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"the image is {width}x{height}; each side may have at most {MAX_SIDE} px",
            {"max_side": MAX_SIDE},
        )
    if min(width, height) < MIN_SIDE:
        raise AppError(
            ErrorCode.BAD_REQUEST,
            f"the image is too small ({width}x{height}); each side needs at least {MIN_SIDE} px",
            {"min_side": MIN_SIDE},
        )


def _decode(image: Image.Image, max_pixels: int) -> None:
    """Force the full decode of the first frame so truncated or corrupt data is caught."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(max_pixels) from error
    except _DECODE_ERRORS as error:
        raise AppError(ErrorCode.BAD_REQUEST, "the image is truncated or corrupt") from error


def _orient(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; an unreadable EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image.copy()


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I") or image.mode == "F":
        image = _to_8bit_gray(image)
    image = _to_srgb(image)
    if image.has_transparency_data:
        return _flatten(image)
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise AppError(
            ErrorCode.BAD_REQUEST, f"unsupported colour mode {image.mode}", {"mode": image.mode}
        ) from error


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert through the embedded ICC profile (CMYK, wide-gamut RGB) when there is one."""
    icc = image.info.get("icc_profile")
    modes = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "RGB", "LA": "RGBA"}
    if not icc or image.mode not in modes:
        return image
    try:
        profile = ImageCms.ImageCmsProfile(BytesIO(icc))
        converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode=modes[image.mode])
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken or unusual profile: fall back to Pillow's plain conversion
    return converted if converted is not None else image


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    """16/32-bit integer and float greyscale to "L", scaled from the data's nominal range."""
    wide = image.convert("F")
    low, high = _nominal_range(image.mode, cast(tuple[float, float], wide.getextrema()))
    span = (high - low) or 1.0
    return wide.point(lambda value: (value - low) * 255.0 / span).convert("L")


def _nominal_range(mode: str, extrema: tuple[float, float]) -> tuple[float, float]:
    """16-bit data is 0..65535; 32-bit int and float data is guessed from its actual values
    (0..1, 0..255 or 0..65535), and stretched from its extrema when it fits none of those."""
    low, high = extrema
    if mode.startswith("I;16") or (low >= 0 and 255 < high <= 65535):
        return 0.0, 65535.0
    if mode == "F" and low >= 0 and high <= 1:
        return 0.0, 1.0
    if low >= 0 and high <= 255:
        return 0.0, 255.0
    return low, high


def _flatten(image: Image.Image) -> Image.Image:
    """Composite an image with transparency over white."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, WHITE)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode_jpeg(image: Image.Image) -> bytes:
    clean = image.copy()
    clean.info = {}  # Pillow carries a source COM comment into the JPEG otherwise
    buffer = BytesIO()
    clean.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()
