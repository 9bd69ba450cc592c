"""Image intake: content-based validation, limits, orientation, colour and metadata."""

from __future__ import annotations

import hashlib
import struct
import zlib
from io import BytesIO
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from services.errors import AppError, ErrorCode
from services.images import PreparedImage, prepare_image

MAX_BYTES = 20_000_000
MAX_PIXELS = 40_000_000
# JPEG markers that carry metadata: APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC), COM.
METADATA_MARKERS = {0xE1: "APP1", 0xE2: "APP2", 0xED: "APP13", 0xFE: "COM"}

ACCEPTED_SAMPLES = [
    ("portrait.jpg", "JPEG", (512, 512)),
    ("portrait-exif-rotated.jpg", "JPEG", (512, 512)),
    ("portrait.heic", "HEIF", (512, 512)),
    ("portrait.webp", "WEBP", (512, 512)),
    ("portrait-cmyk.jpg", "JPEG", (512, 512)),
    ("camera-gray.png", "PNG", (512, 512)),
    ("logo-rgba.png", "PNG", (500, 500)),
    ("cat.png", "PNG", (451, 300)),
    ("rocket.jpg", "JPEG", (640, 427)),
]
PORTRAIT_VARIANTS = [
    "portrait-exif-rotated.jpg",
    "portrait.heic",
    "portrait.webp",
    "portrait-cmyk.jpg",
]


def prepare(raw: bytes, **limits: int) -> PreparedImage:
    limits.setdefault("max_bytes", MAX_BYTES)
    limits.setdefault("max_pixels", MAX_PIXELS)
    return prepare_image(raw, **limits)


def rejected(raw: bytes, **limits: int) -> AppError:
    with pytest.raises(AppError) as caught:
        prepare(raw, **limits)
    return caught.value


def decoded(prepared: PreparedImage) -> Image.Image:
    image = Image.open(BytesIO(prepared.data))
    image.load()
    return image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, offset = [], 2
    while offset < len(data):
        assert data[offset] == 0xFF, f"bad segment at {offset}"
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    raise AssertionError("no start of scan")


def picture(size: tuple[int, int] = (200, 120)) -> Image.Image:
    """A small RGB test card: a gradient with a distinct block in the top-left corner."""
    width, height = size
    card = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
            Image.new("L", size, 90),
        ],
    )
    card.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    return card


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` but whose pixel data is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# -- accepted samples ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "source_format", "size"), ACCEPTED_SAMPLES)
def test_accepted_sample_becomes_clean_rgb_jpeg(samples: Path, name, source_format, size):
    raw = (samples / name).read_bytes()

    prepared = prepare(raw)

    image = decoded(prepared)
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert image.size == size == (prepared.width, prepared.height)
    assert prepared.content_type == "image/jpeg"
    assert prepared.source_format == source_format
    assert prepared.source_size == len(raw)
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    assert not image.getexif()
    assert "icc_profile" not in image.info
    assert not set(jpeg_markers(prepared.data)) & METADATA_MARKERS.keys()


def test_the_same_upload_gives_the_same_bytes(samples: Path):
    raw = (samples / "cat.png").read_bytes()
    assert prepare(raw).sha256 == prepare(raw).sha256


@pytest.mark.parametrize("name", PORTRAIT_VARIANTS)
def test_portrait_variants_look_like_the_portrait(samples: Path, mad, name):
    reference = Image.open(samples / "portrait.jpg")

    image = decoded(prepare((samples / name).read_bytes()))

    assert image.size == reference.size
    assert mad(image, reference) < 6, "colours or orientation differ from portrait.jpg"


def test_exif_rotated_portrait_comes_out_upright(samples: Path, mad):
    raw = (samples / "portrait-exif-rotated.jpg").read_bytes()
    assert Image.open(BytesIO(raw)).getexif().get(ExifTags.Base.Orientation) == 6
    reference = Image.open(samples / "portrait.jpg")

    image = decoded(prepare(raw))

    upright = mad(image, reference)
    for turned in (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270):
        assert mad(image.transpose(turned), reference) > 5 * upright + 20
    assert mad(Image.open(BytesIO(raw)), reference) > 5 * upright + 20  # the stored pixels


def test_exif_orientation_turns_a_landscape_photo_upright(mad):
    card = picture((200, 120))  # landscape, red block in the top-left corner
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "turn 90 degrees clockwise to display"
    stored = card.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote: 120x200
    raw = encode(stored, "JPEG", exif=exif, quality=95)

    prepared = prepare(raw)

    image = decoded(prepared)
    assert (prepared.width, prepared.height) == image.size == (200, 120)
    assert mad(image, card) < 3
    assert image.getpixel((10, 10)) == pytest.approx((255, 0, 0), abs=12)
    assert not image.getexif()


def test_cmyk_is_converted_not_inverted(samples: Path, mad):
    image = decoded(prepare((samples / "portrait-cmyk.jpg").read_bytes()))
    reference = Image.open(samples / "portrait.jpg")
    inverted = Image.eval(reference.convert("RGB"), lambda value: 255 - value)

    assert mad(image, reference) < 6
    assert mad(image, inverted) > 60


def test_greyscale_stays_grey(samples: Path):
    image = decoded(prepare((samples / "camera-gray.png").read_bytes()))
    red, green, blue = (channel.resize((32, 32)) for channel in image.split())
    assert red.tobytes() == green.tobytes() == blue.tobytes() or all(
        abs(r - g) <= 2 and abs(g - b) <= 2
        for r, g, b in zip(red.tobytes(), green.tobytes(), blue.tobytes(), strict=True)
    )


# -- colour modes ---------------------------------------------------------------------------


def test_transparency_is_composited_over_white():
    rgba = Image.new("RGBA", (128, 128), (0, 0, 255, 0))
    rgba.paste((200, 0, 0, 255), (64, 0, 128, 128))

    image = decoded(prepare(encode(rgba, "PNG")))

    assert image.getpixel((10, 64)) == pytest.approx((255, 255, 255), abs=3)
    assert image.getpixel((110, 64)) == pytest.approx((200, 0, 0), abs=6)


def test_grey_with_alpha_is_composited_over_white():
    image = Image.new("LA", (96, 96), (0, 0))  # black, fully transparent
    image.paste((0, 255), (48, 0, 96, 96))  # black, opaque on the right

    flattened = decoded(prepare(encode(image, "PNG")))

    assert flattened.getpixel((10, 48)) == pytest.approx((255, 255, 255), abs=3)
    assert flattened.getpixel((80, 48)) == pytest.approx((0, 0, 0), abs=3)


def test_palette_transparency_is_composited_over_white():
    palette = Image.new("P", (96, 96), 0)
    palette.putpalette([0, 0, 0, 0, 128, 0] + [0] * 762)
    palette.paste(1, (48, 0, 96, 96))

    image = decoded(prepare(encode(palette, "PNG", transparency=0)))

    assert image.getpixel((10, 48)) == pytest.approx((255, 255, 255), abs=3)
    assert image.getpixel((80, 48)) == pytest.approx((0, 128, 0), abs=6)


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    wide = Image.new("I", (128, 128), 0)
    wide.paste(65535, (64, 0, 128, 128))
    wide.paste(32768, (0, 64, 64, 128))
    deep = wide.convert("I;16")

    raw = encode(deep, "PNG")
    assert Image.open(BytesIO(raw)).mode == "I;16"

    image = decoded(prepare(raw))

    assert image.getpixel((10, 10)) == pytest.approx((0, 0, 0), abs=3)
    assert image.getpixel((100, 10)) == pytest.approx((255, 255, 255), abs=3)
    assert image.getpixel((10, 100)) == pytest.approx((128, 128, 128), abs=3)


# -- other accepted formats, made in memory -------------------------------------------------


def test_gif_uses_the_first_frame():
    first, second = Image.new("RGB", (96, 96), (255, 0, 0)), Image.new("RGB", (96, 96), (0, 0, 255))
    raw = encode(first, "GIF", save_all=True, append_images=[second], duration=100)

    prepared = prepare(raw)

    assert prepared.source_format == "GIF"
    assert decoded(prepared).getpixel((48, 48)) == pytest.approx((255, 0, 0), abs=6)


@pytest.mark.parametrize(
    ("fmt", "params"), [("TIFF", {}), ("BMP", {}), ("WEBP", {"lossless": True})]
)
def test_tiff_bmp_webp_made_in_memory_are_accepted(mad, fmt, params):
    card = picture()

    prepared = prepare(encode(card, fmt, **params))

    assert prepared.source_format == fmt
    assert (prepared.width, prepared.height) == card.size
    assert mad(decoded(prepared), card) < 3


def test_cmyk_tiff_is_converted():
    magenta = Image.new("CMYK", (96, 96), (0, 255, 0, 0))
    image = decoded(prepare(encode(magenta, "TIFF")))
    assert image.getpixel((48, 48)) == pytest.approx((255, 0, 255), abs=6)


# -- metadata -------------------------------------------------------------------------------


def test_gps_and_all_other_metadata_are_stripped():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 15"
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
    }
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-location</x:xmpmeta>'
    raw = encode(picture(), "JPEG", exif=exif, xmp=xmp, comment=b"secret comment", quality=95)
    source = Image.open(BytesIO(raw))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test image must carry GPS"

    prepared = prepare(raw)

    image = decoded(prepared)
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not set(jpeg_markers(prepared.data)) & METADATA_MARKERS.keys()
    for secret in (b"Exif\x00\x00", b"PhoneMaker", b"secret-location", b"secret comment"):
        assert secret not in prepared.data


def test_png_text_and_icc_are_not_carried_over(samples: Path):
    raw = (samples / "cat.png").read_bytes()
    assert "icc_profile" in Image.open(BytesIO(raw)).info

    prepared = prepare(raw)

    assert "icc_profile" not in decoded(prepared).info
    assert not set(jpeg_markers(prepared.data)) & METADATA_MARKERS.keys()


# -- rejections -------------------------------------------------------------------------------


def test_empty_upload_is_a_bad_request(samples: Path):
    error = rejected((samples / "empty.jpg").read_bytes())
    assert error.code == ErrorCode.BAD_REQUEST
    assert error.message == "the image is empty"


def test_text_with_a_jpg_name_is_not_an_image(samples: Path):
    error = rejected((samples / "not-an-image.jpg").read_bytes())
    assert error.code == ErrorCode.BAD_REQUEST
    assert error.message == "the file is not a readable image"


def test_truncated_jpeg_is_rejected(samples: Path):
    error = rejected((samples / "truncated.jpg").read_bytes())
    assert error.code == ErrorCode.BAD_REQUEST
    assert error.message == "the image is truncated or corrupt"


@pytest.mark.parametrize("name", ["portrait.heic", "portrait.webp", "cat.png"])
def test_other_truncated_formats_are_rejected(samples: Path, name):
    raw = (samples / name).read_bytes()

    error = rejected(raw[: len(raw) // 2])

    assert error.code == ErrorCode.BAD_REQUEST


def test_byte_limit(samples: Path):
    raw = (samples / "portrait.jpg").read_bytes()

    error = rejected(raw, max_bytes=len(raw) - 1)

    assert error.code == ErrorCode.PAYLOAD_TOO_LARGE
    assert error.details == {"max_bytes": len(raw) - 1}
    assert prepare(raw, max_bytes=len(raw)).source_size == len(raw)


def test_pixel_limit(samples: Path):
    raw = (samples / "portrait.jpg").read_bytes()

    error = rejected(raw, max_pixels=512 * 512 - 1)

    assert error.code == ErrorCode.PAYLOAD_TOO_LARGE
    assert error.details == {"max_pixels": 512 * 512 - 1}
    assert prepare(raw, max_pixels=512 * 512).width == 512


def test_big_image_is_rejected_by_its_pixel_count():
    raw = encode(Image.new("1", (9000, 9000)), "PNG")  # 81 Mpx, a few kB
    assert len(raw) < MAX_BYTES

    error = rejected(raw, max_pixels=MAX_PIXELS)

    assert error.code == ErrorCode.PAYLOAD_TOO_LARGE
    assert error.details == {"max_pixels": MAX_PIXELS}


@pytest.mark.parametrize("side", [8000, 20_000, 60_000])
def test_pixel_limit_is_checked_from_the_header_before_decoding(side):
    """The pixel data is missing: decoding would fail as corrupt, so PAYLOAD_TOO_LARGE proves
    the header was checked first. 20000^2 and 60000^2 are past Pillow's own bomb limit."""
    max_pixels_before = Image.MAX_IMAGE_PIXELS

    error = rejected(png_header_only(side, side))

    assert error.code == ErrorCode.PAYLOAD_TOO_LARGE
    assert error.details == {"max_pixels": MAX_PIXELS}
    assert max_pixels_before == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("size", [(63, 200), (200, 63), (10, 10)])
def test_tiny_images_are_rejected(size):
    error = rejected(encode(Image.new("RGB", size, "white"), "PNG"))
    assert error.code == ErrorCode.BAD_REQUEST
    assert "too small" in error.message


@pytest.mark.parametrize("fmt", ["ICO", "PCX", "PPM", "TGA", "SGI", "EPS"])
def test_formats_pillow_can_open_but_we_do_not_accept(fmt):
    raw = encode(picture((128, 128)), fmt)
    assert Image.open(BytesIO(raw)).format == fmt  # Pillow itself would open it

    error = rejected(raw)

    assert error.code == ErrorCode.BAD_REQUEST
    assert error.message == f"unsupported image format {fmt}"


def test_corrupt_pixel_data_is_rejected(samples: Path):
    raw = bytearray((samples / "cat.png").read_bytes())
    start = raw.index(b"IDAT") + 8
    raw[start : start + 400] = b"\x00" * 400  # breaks the zlib stream (and the chunk CRC)

    error = rejected(bytes(raw))

    assert error.code == ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("size", [(600_000, 64), (64, 70_000), (16_385, 100)])
def test_a_side_past_what_jpeg_can_hold_is_too_large(size):
    """Under the pixel limit, but no JPEG can be this wide (at most 65 535 px a side)."""
    error = rejected(png_header_only(*size))
    assert error.code == ErrorCode.PAYLOAD_TOO_LARGE
    assert error.details == {"max_side": 16_384}


def test_a_wide_panorama_within_the_side_limit_is_accepted():
    prepared = prepare_image(
        encode(picture((16_000, 200)), "PNG"), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
    )
    assert (prepared.width, prepared.height) == (16_000, 200)
