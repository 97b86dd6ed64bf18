"""Hostile image payloads and the error code each must end in, for every entry point.

Each generator returns `(name, payload, expected_error_code)`. The HTTP tests, the decoding
tests and the S3 handler's tests (failure reports) all run the same list:

    from tests.hostile_inputs import HOSTILE_INPUTS
    for make in HOSTILE_INPUTS:
        name, payload, code = make()

Codes assume the default limits (50 MP, 20 MB); `oversized(max_bytes)` builds the byte-cap
case for whatever limit a test configures. `seed_images()` gives small valid images in every
accepted format, the starting points the fuzz tests mutate.
"""

from __future__ import annotations

import functools
import io

from PIL import Image

from function.imaging.heif import register_heif_opener
from tests.heif_files import coded, grid_file, with_hidden_items
from tests.image_files import (
    bmp_declaring,
    encoded,
    gif_declaring,
    heif_declaring,
    jpeg_declaring,
    png_chunk,
    png_declaring,
    raw_png,
    tiff_declaring,
    webp_animation_on_canvas,
    webp_declaring,
)
from tests.support import jpeg_bytes

Hostile = tuple[str, bytes, str]


@functools.lru_cache(maxsize=4)
def _seed_picture(size: int) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_bytes())).convert("RGB").resize((size, size))


@functools.lru_cache(maxsize=8)
def seed_images(size: int = 64) -> dict[str, bytes]:
    """The astronaut at `size` px as JPEG, PNG, WebP (lossy and lossless), GIF, BMP, TIFF, HEIC and AVIF."""
    register_heif_opener()  # pillow-heif's HEIC encoder
    picture = _seed_picture(size)
    return {
        "jpeg": encoded(picture, "JPEG", quality=85),
        "png": encoded(picture, "PNG"),
        "webp": encoded(picture, "WEBP", quality=80),
        "webp-lossless": encoded(picture, "WEBP", lossless=True),
        "gif": encoded(picture, "GIF"),
        "bmp": encoded(picture, "BMP"),
        "tiff": encoded(picture, "TIFF"),
        "heic": encoded(picture, "HEIF", quality=80),
        "avif": encoded(picture, "AVIF", quality=80),
    }


def _truncated(fmt: str) -> Hostile:
    data = seed_images()[fmt]
    return f"truncated-{fmt}", data[: len(data) // 2], "image_undecodable"


def truncated_png() -> Hostile:
    return _truncated("png")


def truncated_jpeg() -> Hostile:
    return _truncated("jpeg")


def truncated_webp() -> Hostile:
    return _truncated("webp")


def truncated_gif() -> Hostile:
    return _truncated("gif")


def truncated_heic() -> Hostile:
    return _truncated("heic")


def truncated_avif() -> Hostile:
    return _truncated("avif")


def png_bomb() -> Hostile:
    return "png-50000x50000", png_declaring(50_000, 50_000), "image_too_many_pixels"


def gif_bomb() -> Hostile:
    return "gif-50000x50000", gif_declaring(50_000, 50_000), "image_too_many_pixels"


def webp_bomb() -> Hostile:
    # libwebp allocates the declared canvas on open: refused from the RIFF header, before Pillow.
    return "webp-50000x50000", webp_declaring(50_000, 50_000), "image_too_many_pixels"


def webp_canvas_bomb() -> Hostile:
    # 144 MP: under Pillow's own hard limit (179 MP), so only our pre-open header check stops
    # libwebp from reserving 1.1 GB for a 92-byte file.
    return "webp-anim-12000x12000", webp_animation_on_canvas(12_000, 12_000), "image_too_many_pixels"


def heic_bomb() -> Hostile:
    return "heic-50000x50000", heif_declaring(seed_images()["heic"], 50_000, 50_000), "image_too_many_pixels"


def avif_bomb() -> Hostile:
    # libavif itself refuses this size as a parse error; it is refused as too large before that.
    return "avif-50000x50000", heif_declaring(seed_images()["avif"], 50_000, 50_000), "image_too_many_pixels"


def heic_larger_than_declared() -> Hostile:
    # The coded picture is 64x64, the header says 16x16: libheif refuses to decode past the header's size.
    return "heic-declares-16x16", heif_declaring(seed_images()["heic"], 16, 16), "image_undecodable"


def heic_tiles_outside() -> Hostile:
    # A 16x16 picture of 12x12 tiles: libheif would decode every one.
    tile = coded(_seed_picture(64), "HEIF", quality=80)
    return "heic-tiles-outside", grid_file(tile, 12, 12, (16, 16)), "image_tiles_outside_picture"


def avif_item_flood() -> Hostile:
    # libavif's parse grows with the square of the item count.
    return (
        "avif-5000-items",
        with_hidden_items(coded(_seed_picture(64), "AVIF", quality=80), 5000),
        "image_too_many_items",
    )


def jpeg_bomb() -> Hostile:
    return "jpeg-50000x50000", jpeg_declaring(50_000, 50_000), "image_too_many_pixels"


def tiff_bomb() -> Hostile:
    return "tiff-50000x50000", tiff_declaring(50_000, 50_000), "image_too_many_pixels"


def bmp_bomb() -> Hostile:
    return "bmp-50000x50000", bmp_declaring(50_000, 50_000), "image_too_many_pixels"


def just_over_the_pixel_cap() -> Hostile:
    # 7072 x 7071 = 50,006,112 px: over 50 MP by a little, well under Pillow's own 89 MP warning.
    return "png-7072x7071", png_declaring(7072, 7071), "image_too_many_pixels"


def one_pixel_wide_strip() -> Hostile:
    # Exactly 50 MP, so only the per-side cap stops it.
    return "png-1x50000000", png_declaring(1, 50_000_000), "image_too_many_pixels"


def png_bad_crc() -> Hostile:
    data = bytearray(seed_images()["png"])
    data[29] ^= 0xFF  # inside the IHDR CRC
    return "png-bad-crc", bytes(data), "image_undecodable"


def png_text_bomb() -> Hostile:
    # A zTXt chunk that inflates to 64 MB from ~64 KB: Pillow caps text chunks at 1 MB.
    import zlib

    text = png_chunk(b"zTXt", b"bomb\0\0" + zlib.compress(b"\0" * (64 * 2**20), 9))
    return "png-ztxt-bomb", raw_png(1, 1, 8, 0, b"\0\0", extra=text), "image_undecodable"


def empty() -> Hostile:
    return "empty", b"", "image_empty"


def text() -> Hostile:
    return "text", b"hello, this is not an image\n" * 10, "unsupported_media_type"


def svg() -> Hostile:
    return "svg", b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "unsupported_media_type"


def unaccepted_format() -> Hostile:
    # A valid image in a format Pillow reads but this service does not accept (PPM).
    return "ppm", encoded(Image.new("RGB", (4, 4)), "PPM"), "unsupported_media_type"


def signature_only() -> Hostile:
    return "png-signature-only", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image_undecodable"


def oversized(max_bytes: int) -> Hostile:
    """A valid JPEG padded (after its end marker) to max_bytes + 1."""
    data = seed_images()["jpeg"]
    return "over-the-byte-cap", data + b"\0" * (max_bytes + 1 - len(data)), "input_too_large"


HOSTILE_INPUTS = [
    empty,
    text,
    svg,
    unaccepted_format,
    signature_only,
    truncated_png,
    truncated_jpeg,
    truncated_webp,
    truncated_gif,
    truncated_heic,
    truncated_avif,
    png_bad_crc,
    png_text_bomb,
    heic_larger_than_declared,
    png_bomb,
    gif_bomb,
    webp_bomb,
    webp_canvas_bomb,
    jpeg_bomb,
    tiff_bomb,
    bmp_bomb,
    heic_bomb,
    avif_bomb,
    heic_tiles_outside,
    avif_item_flood,
    just_over_the_pixel_cap,
    one_pixel_wide_strip,
]
