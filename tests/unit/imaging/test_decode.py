"""Decoding untrusted bytes: every mode comes out right-coloured and upright, or is refused with a code."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image, ImageFile

from function.errors import ServiceError
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.heif import register_heif_opener
from tests.hostile_inputs import HOSTILE_INPUTS, oversized, seed_images
from tests.image_files import (
    SRGB_BLUE,
    SRGB_GREEN,
    SRGB_RED,
    encoded,
    png_chunk,
    png_declaring,
    png_rgb16,
    raw_png,
    rgb_icc_profile,
    webp_animation_on_canvas,
)
from tests.jpeg_files import exif_segment
from tests.tiff_files import exif_blob

LIMITS = DecodeLimits(max_bytes=20 * 2**20, max_pixels=50_000_000)
register_heif_opener()  # pillow-heif's encoder makes the HEIC files below


def decode(data: bytes, limits: DecodeLimits = LIMITS) -> Image.Image:
    return decode_image(data, limits)


def refusal(data: bytes, limits: DecodeLimits = LIMITS) -> str:
    with pytest.raises(ServiceError) as raised:
        decode_image(data, limits)
    assert raised.value.status < 500
    return raised.value.code


def centre(image: Image.Image) -> tuple:
    return image.getpixel((image.width // 2, image.height // 2))


def close(actual, expected, tolerance=3) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize(
    "name, data, expected",
    [
        (
            "cmyk-jpeg (Adobe, inverted)",
            encoded(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95),
            (255, 0, 0),
        ),
        ("cmyk-tiff", encoded(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "TIFF"), (255, 0, 0)),
        ("16-bit grey png", encoded(Image.new("I;16", (16, 16), 32768), "PNG"), (128, 128, 128)),
        ("16-bit grey tiff", encoded(Image.new("I;16", (16, 16), 32768), "TIFF"), (128, 128, 128)),
        ("16-bit rgb png", png_rgb16(16, 16, (65535, 0, 32896)), (255, 0, 128)),
        ("greyscale", encoded(Image.new("L", (16, 16), 77), "PNG"), (77, 77, 77)),
        ("bilevel", encoded(Image.new("1", (16, 16), 1), "PNG"), (255, 255, 255)),
        ("bmp", encoded(Image.new("RGB", (16, 16), (10, 20, 30)), "BMP"), (10, 20, 30)),
    ],
)
def test_opaque_modes_decode_to_the_right_rgb(name, data, expected):
    image = decode(data)

    assert image.mode == "RGB", name
    assert close(centre(image), expected), f"{name}: {centre(image)}"


def test_palette_transparency_becomes_alpha_zero():
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.paste(1, (8, 0, 16, 16))

    image = decode(encoded(palette, "PNG", transparency=0))

    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((12, 8)) == (0, 0, 255, 255)


def test_grey_with_alpha_and_colour_keys_keep_their_transparency():
    assert decode(encoded(Image.new("LA", (8, 8), (100, 50)), "PNG")).getpixel((4, 4)) == (100, 100, 100, 50)
    keyed = decode(encoded(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG", transparency=(1, 2, 3)))
    assert keyed.mode == "RGBA" and keyed.getpixel((4, 4))[3] == 0


def test_an_embedded_icc_profile_is_converted_to_srgb():
    # A profile whose "red" channel is sRGB's green primary: honoured, stored red shows green.
    swapped = rgb_icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)

    assert close(
        centre(decode(encoded(Image.new("RGB", (8, 8), (255, 0, 0)), "PNG", icc_profile=swapped))), (0, 255, 0)
    )
    with_alpha = decode(encoded(Image.new("RGBA", (8, 8), (255, 0, 0, 100)), "PNG", icc_profile=swapped))
    assert close(centre(with_alpha), (0, 255, 0, 100))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_phone_formats_keep_their_profile_alpha_and_grey(fmt):
    swapped = rgb_icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)

    assert close(
        centre(decode(encoded(Image.new("RGB", (64, 64), (255, 0, 0)), fmt, icc_profile=swapped, quality=95))),
        (0, 255, 0),
        16,
    )
    assert close(
        centre(decode(encoded(Image.new("RGBA", (64, 64), (255, 0, 0, 100)), fmt, quality=95))), (255, 0, 0, 100), 4
    )
    assert centre(decode(encoded(Image.new("L", (64, 64), 90), fmt, quality=95))) == (90, 90, 90)


@pytest.mark.parametrize(
    "label, mode, icc",
    [
        ("broken profile", "RGB", rgb_icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)[:100]),
        ("RGB profile on a grey image", "L", rgb_icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)),
        ("profile that says sRGB", "RGB", rgb_icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE, "sRGB IEC61966-2.1")),
    ],
)
def test_unusable_or_srgb_profiles_leave_the_pixels_alone(label, mode, icc):
    colour = 90 if mode == "L" else (200, 100, 50)

    image = decode(encoded(Image.new(mode, (8, 8), colour), "PNG", icc_profile=icc))

    assert centre(image) == ((90, 90, 90) if mode == "L" else colour), label


# EXIF 0x0112: how the stored pixels relate to the upright picture, per the EXIF specification
# (e.g. 6 = the camera was turned 90 degrees clockwise, so the stored picture is turned back).
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
QUADRANTS = {(8, 6): (255, 0, 0), (40, 6): (0, 255, 0), (8, 26): (0, 0, 255), (40, 26): (255, 255, 255)}


def upright_picture() -> Image.Image:
    """48x32, no symmetry: red top-left, green top-right, blue bottom-left, white bottom-right."""
    picture = Image.new("RGB", (48, 32))
    for (x, y), colour in QUADRANTS.items():
        picture.paste(colour, (x - 8, y - 6, x + 16, y + 10))
    return picture


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF", "AVIF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(orientation, fmt):
    method = STORED_AS[orientation]
    stored = upright_picture() if method is None else upright_picture().transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation

    # As bytes, which pillow-heif turns into the irot/imir boxes a phone writes: HEIF readers follow
    # those and ignore the EXIF tag, as the HEIF specification says.
    image = decode(encoded(stored, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt != "PNG" else {})))

    assert image.size == (48, 32)
    for point, colour in QUADRANTS.items():
        assert close(image.getpixel(point), colour, tolerance=40), (orientation, point, image.getpixel(point))


def jpeg_with_exif(blob: bytes) -> bytes:
    """upright_picture() stored turned by orientation 6, as JPEG, with `blob` as its EXIF."""
    stored = encoded(upright_picture().transpose(STORED_AS[6]), "JPEG", quality=95)
    return stored[:2] + exif_segment(blob) + stored[2:]


ORIENTATION_6 = (0x0112, 3, 1, struct.pack("<HH", 6, 0))


def test_a_readable_orientation_is_applied_even_when_other_tags_are_malformed():
    # XResolution as a BYTE: Pillow's EXIF writer raised TypeError on it after rotating (a 500 then).
    image = decode(jpeg_with_exif(exif_blob([ORIENTATION_6, (0x011A, 1, 1, struct.pack("<I", 26))])))

    assert image.size == (48, 32) and close(image.getpixel((8, 6)), (255, 0, 0), tolerance=40)


@pytest.mark.parametrize(
    "blob, logged",
    [
        (exif_blob([(0x0112, 2, 4, b"six\0")]), True),  # text
        (exif_blob([(0x0112, 3, 1, struct.pack("<HH", 9, 0))]), True),  # out of 1..8
        (exif_blob([(0x0112, 3, 3, struct.pack("<I", 999_999))]), False),  # points past the end: Pillow drops it
        (exif_blob([(0x0112, 99, 1, b"\0" * 4)]), False),  # a type Pillow does not know: dropped
        (b"II*\x00\x08\x00\x00\x00\xff\xff", False),  # 65,535 entries announced, none there
    ],
    ids=["text", "out-of-range", "past-the-end", "unknown-type", "cut-short"],
)
def test_an_unusable_orientation_leaves_the_picture_as_stored(blob, logged, caplog):
    with caplog.at_level("INFO", logger="function.imaging.decode"):
        image = decode(jpeg_with_exif(blob))

    assert image.size == (32, 48)
    assert ("ignoring" in caplog.text) == logged


def test_an_exif_pillow_cannot_parse_is_ignored_and_logged(caplog):
    with caplog.at_level("INFO", logger="function.imaging.decode"):
        image = decode(raw_png(2, 1, 8, 0, b"\0\0\0", extra=png_chunk(b"eXIf", b"not a TIFF header")))

    assert image.size == (2, 1) and "ignoring an unreadable EXIF: SyntaxError" in caplog.text


def test_no_malformed_exif_ends_in_anything_but_a_picture_or_a_refusal():
    # The sweep from issue 12: an orientation plus one tag of every type and awkward count.
    for tag in (0x010F, 0x0128, 0x011A, 0x0132, 0x8769, 0x8825, 0x927C, 0x0201, 0xA005, 0x0213):
        for kind in range(14):
            for count in (0, 1, 3, 0xFFFF):
                data = jpeg_with_exif(
                    exif_blob([ORIENTATION_6, (tag, kind, count, struct.pack("<I", 26))], b"\x01\x00" * 20)
                )
                try:
                    decode(data)
                except ServiceError as error:
                    assert error.status < 500


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG", "HEIF", "AVIF"])
def test_animations_give_their_first_frame(fmt):
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]

    image = decode(encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, lossless=True))

    assert close(centre(image)[:3], (255, 0, 0), tolerance=8)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "webp-lossless", "gif", "bmp", "tiff", "heic", "avif"])
def test_truncated_files_are_refused_at_every_cut(fmt):
    data = seed_images()[fmt]
    # The last bytes are end markers and checksums after the pixel data; cutting those loses no pixel.
    cuts = range(1, len(data) - 32, max(1, len(data) // 400))

    codes = {refusal(data[:cut]) for cut in cuts}

    assert codes <= {"image_undecodable", "unsupported_media_type"}, codes
    assert refusal(data[: len(data) // 2]) == "image_undecodable"


def test_truncated_images_are_refused_even_if_someone_turns_pillows_switch_on(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    assert refusal(seed_images()["jpeg"][:1500]) == "image_undecodable"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("make", HOSTILE_INPUTS, ids=lambda make: make.__name__)
def test_hostile_inputs_end_in_their_code(make):
    name, data, code = make()

    assert refusal(data) == code, name


def test_byte_limit_is_inclusive():
    data = seed_images()["jpeg"]

    assert decode(data, DecodeLimits(max_bytes=len(data) + 1, max_pixels=10**6)).size == (64, 64)
    assert decode(data, DecodeLimits(max_bytes=len(data), max_pixels=10**6)).size == (64, 64)
    assert refusal(data, DecodeLimits(max_bytes=len(data) - 1, max_pixels=10**6)) == "input_too_large"
    assert refusal(oversized(len(data))[1], DecodeLimits(max_bytes=len(data), max_pixels=10**6)) == "input_too_large"


def test_webp_gets_half_the_pixel_cap_since_libwebp_holds_the_canvas_several_times():
    data = encoded(Image.new("RGB", (100, 50)), "WEBP", lossless=True)

    assert decode(data, DecodeLimits(max_bytes=10**6, max_pixels=10_000)).size == (100, 50)
    assert refusal(data, DecodeLimits(max_bytes=10**6, max_pixels=9_999)) == "image_too_many_pixels"
    assert (
        refusal(webp_animation_on_canvas(100, 51), DecodeLimits(max_bytes=10**6, max_pixels=10_000))
        == "image_too_many_pixels"
    )


def test_pixel_limit_is_inclusive_and_checked_before_decoding():
    data = encoded(Image.new("RGB", (100, 50)), "PNG")  # 5,000 px

    assert decode(data, DecodeLimits(max_bytes=10**6, max_pixels=5001)).size == (100, 50)
    assert decode(data, DecodeLimits(max_bytes=10**6, max_pixels=5000)).size == (100, 50)
    assert refusal(data, DecodeLimits(max_bytes=10**6, max_pixels=4999)) == "image_too_many_pixels"
    # A header with no pixel data behind it is refused by size, not as truncated: nothing was decoded.
    assert refusal(png_declaring(100, 50), DecodeLimits(max_bytes=10**6, max_pixels=4999)) == "image_too_many_pixels"


def test_each_side_is_capped_and_tiny_images_pass():
    assert refusal(png_declaring(1, 50_000_000)) == "image_too_many_pixels"
    assert decode(encoded(Image.new("L", (16383, 1)), "PNG")).size == (16383, 1)
    assert refusal(png_declaring(16384, 1)) == "image_too_many_pixels"
    assert decode(encoded(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG")).getpixel((0, 0)) == (1, 2, 3)


def test_camera_mpo_jpegs_are_accepted_as_their_first_picture():
    first, second = Image.new("RGB", (16, 16), (255, 0, 0)), Image.new("RGB", (16, 16), (0, 0, 255))

    image = decode(encoded(first, "MPO", save_all=True, append_images=[second], quality=95))

    assert close(centre(image), (255, 0, 0), tolerance=8)
    assert np.asarray(image).dtype == np.uint8
