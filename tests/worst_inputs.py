"""The worst inputs inside the caps, per accepted format: what each format's structure lets a file
cost (scans, markers, chunks, sub-blocks, runs, canvases, tiles, tags, EXIF) at <= MAX_INPUT_BYTES
and <= MAX_INPUT_MEGAPIXELS, next to real photos at the pixel cap.

Each case is `WorstCase(name, data, expect)`: `expect` is the error code the service must refuse it
with, or ANSWERED. tests/integration/test_worst_cases.py runs each in a fresh process through the
pipeline; `python -m benchmarks.worst_cases` prints the time and peak RSS of each.

    from tests.worst_inputs import WORST_CASES
    for make in WORST_CASES:
        case = make()
"""

from __future__ import annotations

import functools
import random
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from function.settings import Settings
from tests.heif_files import (
    astronaut_tile,
    coded,
    grid_file,
    grid_item,
    grid_of_grids,
    heif_file,
    tile_item,
    with_hidden_items,
)
from tests.image_files import encoded, png_chunk, raw_png, webp_animation_on_canvas
from tests.jpeg_files import exif_segment, jpeg_with_segments, progressive_jpeg
from tests.tiff_files import exif_blob, tiff_file

# The deployed caps, so every case sits just inside what the service accepts.
MAX_BYTES: int = Settings.model_fields["max_input_bytes"].default
MAX_PIXELS = 50_000_000
SIDE = 7071  # the largest square at the pixel cap
WIDE = (16383, MAX_PIXELS // 16383)
WEBP_SIDE = (
    5000,
    5000,
)  # the largest square at WebP's share of the pixel cap  # the widest picture at the cap: longest rows, fewest of them
ANSWERED = "answered"
PHONE_48MP = (8064, 6048)  # an iPhone's largest HEIC
ORIENTATION = 0x0112


@dataclass(frozen=True)
class WorstCase:
    name: str
    data: bytes
    expect: str  # an ErrorCode value, or ANSWERED
    query: dict[str, str] = field(default_factory=dict)  # the case's own options, as text
    mask: Image.Image | None = None  # a small mask standing in for the model's (one it cannot be made to give)


def fill(unit: bytes, budget: int) -> bytes:
    """`unit` repeated as often as `budget` bytes allow."""
    return unit * (budget // len(unit))


@functools.lru_cache(maxsize=1)
def _photo() -> Image.Image:
    """A real photo (skimage's astronaut) at the pixel cap; LANCZOS keeps it photo-like."""
    from skimage.data import astronaut

    return Image.fromarray(astronaut()).resize((SIDE, SIDE), Image.Resampling.LANCZOS)


def real_photo_jpeg() -> WorstCase:
    return WorstCase("real photo 50 MP JPEG q90", encoded(_photo(), "JPEG", quality=90), ANSWERED)


def real_photo_progressive() -> WorstCase:
    data = encoded(_photo(), "JPEG", quality=90, progressive=True, optimize=True)
    return WorstCase("real photo 50 MP progressive JPEG", data, ANSWERED)


def _real_photo_at(megapixels: float) -> WorstCase:
    side = int((megapixels * 1e6) ** 0.5)
    picture = _photo().resize((side, side), Image.Resampling.LANCZOS)
    return WorstCase(f"real photo {megapixels:g} MP JPEG q90", encoded(picture, "JPEG", quality=90), ANSWERED)


def real_photo_matting() -> WorstCase:
    """A real photo at ALPHA_MATTING_MAX_MEGAPIXELS: the yardstick for alpha matting (refused at 50 MP)."""
    from function.settings import Settings

    return _real_photo_at(Settings().alpha_matting_max_megapixels)


def real_photo_webp_cap() -> WorstCase:
    """A real photo at WEBP_MAX_MEGAPIXELS: the yardstick for format=webp (refused at 50 MP)."""
    from function.settings import Settings

    return _real_photo_at(Settings().webp_max_megapixels)


def matting_noise() -> WorstCase:
    # Noise leaves the model unsure everywhere: the widest "unknown" band alpha matting can get.
    side = int(2_000_000**0.5)
    noise = Image.frombytes("RGB", (side, side), random.Random(1).randbytes(side * side * 3))
    return WorstCase("png 2 MP of noise", encoded(noise, "PNG", compress_level=1), ANSWERED)


def real_photo_webp() -> WorstCase:
    picture = _photo().resize(WEBP_SIDE, Image.Resampling.LANCZOS)
    return WorstCase(
        "real photo 25 MP WebP q80 (the WebP cap)", encoded(picture, "WEBP", quality=80, method=0), ANSWERED
    )


def small_photo_on_a_huge_canvas() -> WorstCase:
    """A 0.26 MP photo: with canvas at its cap and upscale, the most a small input can be drawn onto."""
    from skimage.data import astronaut

    return WorstCase(
        "real photo 0.26 MP JPEG (for a canvas at its cap)",
        encoded(Image.fromarray(astronaut()), "JPEG", quality=90),
        ANSWERED,
    )


# ------------------------------------------------------------------ JPEG


def jpeg_refinement_scans() -> WorstCase:
    # AC refinement scans visit all 64 coefficients of every block: ~30 ms each at 50 MP, ~75 bytes each.
    data = progressive_jpeg(SIDE, SIDE, refinement_scans=(MAX_BYTES - 200_000) // 80)
    return WorstCase("jpeg 50 MP, 260k refinement scans", data, "image_too_many_scans")


def jpeg_scans_at_limit() -> WorstCase:
    from function.imaging.structure import JPEG_SCAN_MEGAPIXELS

    scans = int(JPEG_SCAN_MEGAPIXELS // (SIDE * SIDE / 1e6)) - 2  # DC + AC first + refinements
    return WorstCase(
        f"jpeg 50 MP, {scans + 2} scans (the limit)", progressive_jpeg(SIDE, SIDE, refinement_scans=scans), ANSWERED
    )


def jpeg_tiny_many_scans() -> WorstCase:
    data = progressive_jpeg(64, 64, refinement_scans=(MAX_BYTES - 1000) // 12)
    return WorstCase("jpeg 64x64, 1.7M scans", data, "image_too_many_scans")


def jpeg_empty_markers() -> WorstCase:
    return WorstCase(
        "jpeg of 5M empty APP1 markers",
        jpeg_with_segments(fill(b"\xff\xe1\x00\x02", MAX_BYTES - 1000)),
        "image_too_many_segments",
    )


def jpeg_exif_segments() -> WorstCase:
    # Pillow joins Exif segments with bytes += bytes: quadratic in their number.
    return WorstCase(
        "jpeg of 1.9M one-byte Exif segments",
        jpeg_with_segments(fill(exif_segment(b"x"), MAX_BYTES - 1000)),
        "image_too_many_segments",
    )


def jpeg_fill_bytes() -> WorstCase:
    # 0xFF fill before a marker is legal; Pillow's marker walk reads it one byte per Python loop.
    return WorstCase(
        "jpeg with 20 MB of 0xFF fill", jpeg_with_segments(b"\xff" * (MAX_BYTES - 1000)), "image_too_many_segments"
    )


def jpeg_photoshop_resources() -> WorstCase:
    # Pillow parses every 8BIM resource of every APP13 segment in a Python loop.
    resources = b"Photoshop 3.0\x00" + fill(b"8BIM\x04\x04\x00\x00\x00\x00\x00\x00", 65_000)
    segment = b"\xff\xed" + struct.pack(">H", len(resources) + 2) + resources
    return WorstCase(
        "jpeg of 320 Photoshop segments, 1.7M resources",
        jpeg_with_segments(fill(segment, MAX_BYTES - 1000)),
        "image_too_many_segments",
    )


def jpeg_restart_every_mcu() -> WorstCase:
    data = progressive_jpeg(SIDE, SIDE, refinement_scans=0, restart_interval=1)
    return WorstCase("jpeg 50 MP, a restart marker every block", data, ANSWERED)


def jpeg_malformed_exif() -> WorstCase:
    # Orientation 6 and a tag of the wrong type: Pillow's EXIF writer raised on it (a 500 then).
    blob = exif_blob([(ORIENTATION, 3, 1, struct.pack("<HH", 6, 0)), (0x011A, 1, 1, struct.pack("<I", 26))])
    return WorstCase("jpeg with malformed EXIF", jpeg_with_segments(exif_segment(blob), size=(8, 4)), ANSWERED)


def jpeg_largest_exif() -> WorstCase:
    # One full Exif segment of 5,400 rational tags after an orientation: Pillow re-encodes them all.
    entries = [(ORIENTATION, 3, 1, struct.pack("<HH", 6, 0))] + [
        (0x9000 + i, 5, 1, struct.pack("<I", 8)) for i in range(5400)
    ]
    return WorstCase(
        "jpeg with a 64 KB EXIF of 5,400 tags", jpeg_with_segments(exif_segment(exif_blob(entries))), ANSWERED
    )


# ------------------------------------------------------------------ PNG


def png_many_chunks() -> WorstCase:
    return WorstCase(
        "png with 1.7M empty private chunks",
        raw_png(1, 1, 8, 0, b"\0\0", extra=fill(png_chunk(b"prIv", b""), MAX_BYTES - 200)),
        "image_too_many_segments",
    )


def png_tiny_idat_chunks() -> WorstCase:
    rows = b"\0" + b"\x80" * 1200
    stream = zlib.compress(rows * 1200, 0)  # stored: one IDAT chunk per byte of it
    idats = b"".join(png_chunk(b"IDAT", stream[i : i + 1]) for i in range(len(stream)))
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1200, 1200, 8, 0, 0, 0, 0))
    return WorstCase(
        "png split into 1.4M one-byte IDAT chunks",
        b"\x89PNG\r\n\x1a\n" + ihdr + idats + png_chunk(b"IEND", b""),
        "image_too_many_segments",
    )


def png_text_at_pillow_limit() -> WorstCase:
    # 60 zTXt chunks inflating to just under Pillow's 1 MB each (64 MB is Pillow's total).
    text = b"".join(png_chunk(b"zTXt", b"k%d\0\0" % i + zlib.compress(b"a" * (2**20 - 100), 9)) for i in range(60))
    return WorstCase("png with 60 MB of compressed text", raw_png(1, 1, 8, 0, b"\0\0", extra=text), ANSWERED)


def png_sixteen_bit_grey() -> WorstCase:
    # 16-bit greyscale is scaled to 8 bits in numpy: the widest integer copy of the picture.
    data = encoded(Image.new("I;16", (SIDE, SIDE), 40000), "PNG")
    return WorstCase("png 50 MP 16-bit grey", data, ANSWERED)


def png_at_cap() -> WorstCase:
    return WorstCase("png 50 MP RGBA", encoded(Image.new("RGBA", (SIDE, SIDE), (20, 30, 40, 200)), "PNG"), ANSWERED)


def png_malformed_exif() -> WorstCase:
    blob = exif_blob([(ORIENTATION, 3, 1, struct.pack("<HH", 8, 0)), (0x0128, 1, 1, struct.pack("<I", 26))])
    return WorstCase(
        "png with malformed eXIf", raw_png(2, 1, 8, 0, b"\0\0\0", extra=png_chunk(b"eXIf", blob)), ANSWERED
    )


# ------------------------------------------------------------------ GIF


def _gif(screen: tuple[int, int], before_frame: bytes = b"", frame: tuple[int, int] = (1, 1)) -> bytes:
    head = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x44\x01\x00"
    return head + before_frame + image + b"\x3b"


def gif_comment_sub_blocks() -> WorstCase:
    comment = b"\x21\xfe" + fill(b"\x01c", MAX_BYTES - 1000) + b"\x00"
    return WorstCase("gif with a comment of 10M one-byte sub-blocks", _gif((1, 1), comment), "image_too_many_segments")


def gif_many_extensions() -> WorstCase:
    control = b"\x21\xf9\x04\x00\x00\x00\x00\x00"
    return WorstCase(
        "gif with 2.6M graphic control extensions",
        _gif((1, 1), fill(control, MAX_BYTES - 1000)),
        "image_too_many_segments",
    )


def gif_screen_at_cap() -> WorstCase:
    return WorstCase("gif 35 bytes: 50 MP screen, 1x1 frame", _gif((SIDE, SIDE)), ANSWERED)


# ------------------------------------------------------------------ WebP


def webp_animation_canvas_at_cap() -> WorstCase:
    # libwebp holds two canvases and Pillow a copy of the frame: WebP gets half the pixel cap.
    return WorstCase(
        "webp 90 bytes: animation on a 50 MP canvas", webp_animation_on_canvas(SIDE, SIDE), "image_too_many_pixels"
    )


def webp_animation_canvas_at_webp_cap() -> WorstCase:
    return WorstCase("webp 90 bytes: animation on a 25 MP canvas", webp_animation_on_canvas(*WEBP_SIDE), ANSWERED)


def webp_still_at_cap() -> WorstCase:
    picture = Image.new("RGB", WEBP_SIDE, (9, 99, 199))
    return WorstCase("webp 25 MP lossless, one colour", encoded(picture, "WEBP", lossless=True), ANSWERED)


def noise_for_webp_output() -> WorstCase:
    # libwebp's encoders need most memory on noise (~40 bytes a pixel): random alpha and colour bits
    # at the WebP output cap, as much entropy as the byte cap lets a PNG carry.
    from function.settings import Settings

    side = int(Settings().webp_max_pixels ** 0.5)
    noise = np.random.default_rng(2).integers(0, 256, (side, side, 4), dtype=np.uint8)
    noise &= np.array([0x80, 0x80, 0x80, 0xFC], np.uint8)
    return WorstCase(
        f"png {side * side / 1e6:.0f} MP of noise (the WebP cap)",
        encoded(Image.fromarray(noise, "RGBA"), "PNG", compress_level=9),
        ANSWERED,
    )


def webp_many_frames() -> WorstCase:
    frame = encoded(Image.new("RGBA", (1, 1), (255, 0, 0, 255)), "WEBP", lossless=True)[12:]
    anmf = b"ANMF" + struct.pack("<I", 16 + len(frame)) + b"\0" * 12 + b"\x64\0\0\0" + frame
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x12\0\0\0" + b"\0\0\0\0\0\0"
    body = b"WEBP" + vp8x + b"ANIM\x06\0\0\0" + b"\0" * 6 + fill(anmf, MAX_BYTES - 100)
    return WorstCase("webp with 400k animation frames", b"RIFF" + struct.pack("<I", len(body)) + body, ANSWERED)


# ------------------------------------------------------------------ BMP


def _bmp_rle(width: int, height: int, pixels: bytes, rle4: bool = False) -> bytes:
    bits, compression = (4, 2) if rle4 else (8, 1)
    palette = b"".join(bytes((i, i, i, 0)) for i in range(1 << bits))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(pixels), 2835, 2835, 0, 0)
    offset = 14 + 40 + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def bmp_rle8_end_of_lines() -> WorstCase:
    # One pixel, then end-of-line: Pillow pads each row one byte per Python loop.
    width, height = WIDE
    return WorstCase(
        "bmp RLE8 12 KB: one pixel a row at 50 MP",
        _bmp_rle(width, height, b"\x01\x07\x00\x00" * height + b"\x00\x01"),
        "image_rle_too_many_pixels",
    )


def _rle4_rows(width: int, height: int) -> bytes:
    """Rows of 255-pixel runs (the longest RLE4 allows), each row closed by an end-of-line."""
    full, rest = divmod(width, 255)
    row = b"\xff\x12" * full + (bytes((rest, 0x12)) if rest else b"") + b"\x00\x00"
    return row * height + b"\x00\x01"


def bmp_rle4_runs() -> WorstCase:
    # Pillow expands RLE4 runs one pixel per Python loop.
    return WorstCase(
        "bmp RLE4 at 50 MP, 255-pixel runs",
        _bmp_rle(SIDE, SIDE, _rle4_rows(SIDE, SIDE), rle4=True),
        "image_rle_too_many_pixels",
    )


def bmp_rle_at_limit() -> WorstCase:
    from function.imaging.structure import RLE_MAX_PIXELS

    width = 2048
    height = RLE_MAX_PIXELS // width
    return WorstCase(
        "bmp RLE4 at the RLE limit, 255-pixel runs",
        _bmp_rle(width, height, _rle4_rows(width, height), rle4=True),
        ANSWERED,
    )


def bmp_one_bit_at_cap() -> WorstCase:
    return WorstCase("bmp 50 MP one bit a pixel", encoded(Image.new("1", (SIDE, SIDE), 1), "BMP"), ANSWERED)


# ------------------------------------------------------------------ TIFF


def tiff_tiny_tiles() -> WorstCase:
    # 16x16 tiles (the smallest TIFF allows) at 50 MP, all pointing at the same 256 bytes.
    data = tiff_file(SIDE, SIDE, tile=(16, 16))
    return WorstCase("tiff 50 MP of 195k 16x16 tiles", data, "image_too_many_segments")


def tiff_tiny_compressed_tiles() -> WorstCase:
    return WorstCase(
        "tiff 50 MP of 195k 16x16 deflate tiles",
        tiff_file(SIDE, SIDE, tile=(16, 16), deflate=True),
        "image_too_many_segments",
    )


def tiff_strip_offsets_flood() -> WorstCase:
    # 2.6M strip offsets for a 64x64 picture: Pillow builds a Python tile for each.
    return WorstCase(
        "tiff 64x64 with 2.6M strip offsets",
        tiff_file(64, 64, strips=(MAX_BYTES - 1000) // 8),
        "image_too_many_segments",
    )


def tiff_rational_flood() -> WorstCase:
    # XResolution as 2.6M rationals: Pillow makes an object of each when it reads the tag.
    return WorstCase(
        "tiff with 2.6M XResolution rationals",
        tiff_file(64, 64, extra=[(0x011A, 5, (MAX_BYTES - 8000) // 8, None)]),
        "image_too_many_segments",
    )


def tiff_at_cap() -> WorstCase:
    return WorstCase("tiff 50 MP one bit a pixel", encoded(Image.new("1", (SIDE, SIDE), 1), "TIFF"), ANSWERED)


def tiff_malformed_orientation() -> WorstCase:
    return WorstCase(
        "tiff with an orientation of the wrong type", tiff_file(8, 4, extra=[(ORIENTATION, 2, 4, None)]), ANSWERED
    )


# ------------------------------------------------------------------ HEIF / AVIF


@functools.lru_cache(maxsize=2)
def _flat_tile(side: int):
    # x265's fastest preset: a large tile in a second or so (a test's budget), decoded as slowly as any.
    return coded(Image.new("RGB", (side, side), (50, 100, 150)), "HEIF", quality=10, enc_params={"preset": "ultrafast"})


def heic_tiles_outside() -> WorstCase:
    # libheif decodes every tile a grid lists, also those wholly outside the picture.
    return WorstCase(
        "heic 64x64 grid of 144 tiles of 4096²",
        grid_file(_flat_tile(4096), 12, 12, (64, 64)),
        "image_tiles_outside_picture",
    )


def heic_grid_at_cap() -> WorstCase:
    # As a phone writes its largest photo (an iPhone's 48 MP, 8064x6048): 16x12 tiles of 512² (a real
    # photo's), the last row overhanging the picture.
    return WorstCase(
        "heic 48 MP grid of 16x12 tiles of 512²", grid_file(astronaut_tile(), 12, 16, PHONE_48MP), ANSWERED
    )


def heic_grid_of_grids_outside() -> WorstCase:
    # Grids nest: 16 grids of 16 tiles of 2048², each inner grid declaring a quarter of the picture.
    tile = _flat_tile(2048)
    tiles = {2 + i: tile_item(tile) for i in range(16)}
    quarter = (SIDE + 3) // 4
    inner = {key: grid_item(4, 4, (quarter, quarter), tuple(tiles), hidden=True) for key in range(1000, 1016)}
    data = heif_file({1: grid_item(4, 4, (SIDE, SIDE), tuple(inner)), **inner, **tiles}, primary=1)
    return WorstCase("heic grid of 4x4 grids of 4x4 tiles of 2048²", data, "image_tiles_outside_picture")


def heic_grid_of_grids_over_cap() -> WorstCase:
    # Every grid inside the picture, but 2x2 grids of 3x3 tiles of 2048² decode 151 MP.
    return WorstCase(
        "heic 6145² grid of 2x2 grids of 3x3 tiles of 2048²",
        grid_of_grids(_flat_tile(2048), 2, (3, 3), (6145, 6145)),
        "image_too_many_pixels",
    )


def heic_grid_of_grids_at_cap() -> WorstCase:
    return WorstCase(
        "heic 48 MP grid of 2x2 grids of 8x6 tiles of 512²",
        grid_of_grids(astronaut_tile(), 2, (6, 8), PHONE_48MP),
        ANSWERED,
    )


def avif_many_items() -> WorstCase:
    # libavif looks each item up in a list as it parses: quadratic in the item count.
    return WorstCase(
        "avif with 48,000 hidden items", with_hidden_items(astronaut_tile(512, "AVIF"), 48_000), "image_too_many_items"
    )


def avif_items_at_limit() -> WorstCase:
    from function.imaging.heif_items import MAX_ITEMS

    return WorstCase(
        f"avif with {MAX_ITEMS:,} items (the limit)",
        with_hidden_items(astronaut_tile(512, "AVIF"), MAX_ITEMS - 1),
        ANSWERED,
    )


def avif_from_pillow() -> WorstCase:
    picture = _photo().resize((4032, 3024), Image.Resampling.LANCZOS)
    return WorstCase("avif 12 MP from Pillow", encoded(picture, "AVIF", quality=80, speed=10), ANSWERED)


# ------------------------------------------------------------------ Alpha matting and clean edges

WIDEST_MATTING = {
    "alpha_matting": "true",
    "alpha_matting_foreground_threshold": "250",
    "alpha_matting_background_threshold": "5",
    "alpha_matting_erode_size": "40",
}


def matting_widest_knobs() -> WorstCase:
    # The knobs widen the trimap's unknown band; pymatting's solve grows faster than the band.
    photo = real_photo_matting()
    return WorstCase(photo.name, photo.data, "alpha_matting_too_large", WIDEST_MATTING)


def matting_default_knobs() -> WorstCase:
    photo = real_photo_matting()
    return WorstCase(photo.name, photo.data, ANSWERED, {"alpha_matting": "true"})


def matting_wide_knobs_within_limit() -> WorstCase:
    # ~57,000 unknown pixels of this photo's 0.5 MP (the limit is 60,000; rembg's defaults: ~45,000).
    photo = real_photo_matting()
    return WorstCase(photo.name, photo.data, ANSWERED, {"alpha_matting": "true", "alpha_matting_erode_size": "15"})


def _stepped_mask(border: int = 96) -> Image.Image:
    """Sure background left, sure subject right, one-pixel 0/255 squares between (40 % of the width):
    nothing soft on the model's grid, soft all over that band once upscaled to the photo. (A mask soft
    all over the photo peaks 13 % over the photo: its PNG is 74 MB, incompressible alpha.)"""
    squares = (np.indices((320, 320)).sum(axis=0) % 2 * 255).astype(np.uint8)
    squares[:, :border], squares[:, -border:] = 0, 255
    return Image.fromarray(squares)


def _ring_mask(soft_pixels: float, size: tuple[int, int]) -> Image.Image:
    """A subject disc whose edge ramps over a ring, wide enough that `soft_pixels` of the upscaled mask are soft."""
    from function.imaging.edges import soft_share

    distance = np.hypot(*(np.indices((320, 320)) - 159.5))

    def ring(width: float) -> Image.Image:
        return Image.fromarray(np.clip((120 - distance) * 255 / width + 128, 0, 255).astype(np.uint8))

    low, high = 0.5, 200.0
    for _ in range(14):  # to a hundredth of a pixel of ramp
        middle = (low + high) / 2
        low, high = (
            (middle, high) if soft_share(ring(middle), size) * size[0] * size[1] < soft_pixels else (low, middle)
        )
    return ring(low)


def edges_stepped_mask() -> WorstCase:
    photo = real_photo_jpeg()
    return WorstCase(f"{photo.name}, a mask soft only once upscaled", photo.data, ANSWERED, mask=_stepped_mask())


def edges_under_the_old_share_guard() -> WorstCase:
    # 24 % soft: under the old guard (25 % of the small mask), 12 MP to unmix at 50 MP.
    photo = real_photo_jpeg()
    mask = _ring_mask(0.24 * SIDE * SIDE, (SIDE, SIDE))
    return WorstCase(f"{photo.name}, a mask 24 % soft", photo.data, ANSWERED, mask=mask)


def edges_at_the_soft_budget() -> WorstCase:
    # The worst mask whose edge is still unmixed: just under MAX_SOFT_PIXELS soft.
    from function.imaging.edges import MAX_SOFT_PIXELS

    photo = real_photo_jpeg()
    mask = _ring_mask(MAX_SOFT_PIXELS * 0.99, (SIDE, SIDE))
    return WorstCase(f"{photo.name}, a mask soft over 4.95 MP", photo.data, ANSWERED, mask=mask)


REAL_PHOTOS = [real_photo_jpeg, real_photo_progressive, real_photo_webp, real_photo_webp_cap, real_photo_matting]
WORST_CASES = [
    matting_noise,
    small_photo_on_a_huge_canvas,
    jpeg_refinement_scans,
    jpeg_scans_at_limit,
    jpeg_tiny_many_scans,
    jpeg_empty_markers,
    jpeg_exif_segments,
    jpeg_fill_bytes,
    jpeg_photoshop_resources,
    jpeg_restart_every_mcu,
    jpeg_malformed_exif,
    jpeg_largest_exif,
    png_many_chunks,
    png_tiny_idat_chunks,
    png_text_at_pillow_limit,
    png_sixteen_bit_grey,
    png_at_cap,
    png_malformed_exif,
    gif_comment_sub_blocks,
    gif_many_extensions,
    gif_screen_at_cap,
    webp_animation_canvas_at_cap,
    webp_animation_canvas_at_webp_cap,
    webp_still_at_cap,
    webp_many_frames,
    noise_for_webp_output,
    bmp_rle8_end_of_lines,
    bmp_rle4_runs,
    bmp_rle_at_limit,
    bmp_one_bit_at_cap,
    tiff_tiny_tiles,
    tiff_tiny_compressed_tiles,
    tiff_strip_offsets_flood,
    tiff_rational_flood,
    tiff_at_cap,
    tiff_malformed_orientation,
    heic_tiles_outside,
    heic_grid_at_cap,
    heic_grid_of_grids_outside,
    heic_grid_of_grids_over_cap,
    heic_grid_of_grids_at_cap,
    avif_many_items,
    avif_items_at_limit,
    avif_from_pillow,
    matting_widest_knobs,
    matting_default_knobs,
    matting_wide_knobs_within_limit,
    edges_stepped_mask,
    edges_under_the_old_share_guard,
    edges_at_the_soft_budget,
]
