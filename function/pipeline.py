"""The one image pipeline: bytes -> decode -> mask -> compose -> encode -> bytes + facts.

No AWS and no HTTP in here: the HTTP API and the S3 handler both call `remove_background`
and only differ in where the bytes come from and go to.
"""

from __future__ import annotations

import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from . import png
from .errors import InvalidOption
from .images import DecodeLimits, decode_image
from .model import usable_cpus

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp"}
# A pixel counts as subject (for `crop` and the X-Foreground-* box) above this alpha. The
# model leaves faint noise (1-5) in backgrounds; 10 is rembg's own "background" threshold.
FOREGROUND_ALPHA = 10
# zlib level of our banded PNG writer (function/png.py): lossless either way; level 1 costs
# ~20 % in size against Pillow's default 6 and saves most of the encode time (benchmarks/README.md).
PNG_COMPRESS_LEVEL = png.DEFAULT_LEVEL
WEBP_QUALITY = 90
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_SUBJECT_LUT = [255 if value > FOREGROUND_ALPHA else 0 for value in range(256)]

# Band work (mask upscale, cutout, PNG deflate) runs on as many threads as Lambda gives CPUs.
# Created once per process; threads start on first use and idle between requests.
WORKERS = usable_cpus()
_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bands")


class MaskModel(Protocol):
    def mask(self, image: Image.Image) -> Image.Image: ...


class SmallMaskModel(MaskModel, Protocol):
    """A model that can hand over its mask at the model's own resolution (e.g. 320x320).

    The pipeline then upscales it itself, band by band on all threads, fused with the
    cutout and the PNG encode, instead of one single-threaded full-size resize.
    """

    def small_mask(self, image: Image.Image) -> Image.Image: ...


@dataclass(frozen=True)
class RemovalOptions:
    format: str = "png"
    only_mask: bool = False
    bgcolor: tuple[int, int, int, int] | None = None
    crop: bool = False

    def __post_init__(self):
        if self.format not in CONTENT_TYPES:
            raise InvalidOption(f"format must be one of {', '.join(CONTENT_TYPES)}", code="invalid_format")


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class Cutout:
    body: bytes
    format: str
    width: int
    height: int
    foreground: Box
    source_width: int
    source_height: int
    stage_ms: dict[str, float] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def parse_bgcolor(text: str) -> tuple[int, int, int, int]:
    """`RRGGBB` or `RRGGBBAA` (a leading # allowed) -> an RGBA tuple."""
    match = _HEX_COLOR.match(text.strip())
    if not match:
        raise InvalidOption("bgcolor must be RRGGBB or RRGGBBAA in hex, e.g. ffffff", code="invalid_bgcolor")
    digits = match.group(1) + ("" if len(match.group(1)) == 8 else "ff")
    return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def subject_box(mask: Image.Image) -> Box | None:
    bbox = mask.point(lambda value: 255 if value > FOREGROUND_ALPHA else 0).getbbox()
    if bbox is None:
        return None
    left, top, right, bottom = bbox
    return Box(left, top, right - left, bottom - top)


def compose(image: Image.Image, mask: Image.Image, options: RemovalOptions) -> tuple[Image.Image, Box]:
    """The output picture and the subject's box within it."""
    box = subject_box(mask)
    if options.only_mask:
        result = mask
    else:
        # Same compositing as rembg's default cutout, so results match rembg's pixel for pixel.
        transparent = Image.new("RGBA", image.size, 0)
        result = Image.composite(image.convert("RGBA"), transparent, mask)
        if options.bgcolor is not None:
            background = Image.new("RGBA", image.size, options.bgcolor)
            result = Image.alpha_composite(background, result)
            if options.bgcolor[3] == 255:
                result = result.convert("RGB")
    if box is None:
        return result, Box(0, 0, 0, 0)
    if options.crop:
        result = result.crop((box.left, box.top, box.left + box.width, box.top + box.height))
        return result, Box(0, 0, box.width, box.height)
    return result, box


def encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "png" and image.mode in ("L", "RGB", "RGBA"):
        return png.encode_png(np.asarray(image), image.mode, _pool, WORKERS, PNG_COMPRESS_LEVEL)
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return buffer.getvalue()


class _Upscaler:
    """The model's small mask, resized to the photo like rembg does it (LANCZOS), in row bands.

    Pillow resizes horizontally, then vertically; doing the horizontal pass once (320 rows,
    cheap) and the vertical pass per band gives the rows of the one-call resize (a rare +-1
    where the band's scale rounds differently in the last bit), and the bands run in parallel.
    """

    def __init__(self, small: Image.Image, size: tuple[int, int]):
        self.width, self.height = size
        self.rows = small.resize((self.width, small.height), Image.Resampling.LANCZOS)
        self.scale = small.height / self.height

    def band(self, y0: int, y1: int) -> Image.Image:
        box = (0, y0 * self.scale, self.width, y1 * self.scale)
        return self.rows.resize((self.width, y1 - y0), Image.Resampling.LANCZOS, box=box)

    def full(self) -> Image.Image:
        pixels = np.empty((self.height, self.width), np.uint8)

        def fill(span: tuple[int, int]) -> None:
            pixels[span[0] : span[1]] = np.asarray(self.band(*span))

        # The same bands as the RGBA cutout's (4 bytes a pixel), so both give identical rows.
        list(_pool.map(fill, png.band_spans(self.height, self.width * 4, WORKERS)))
        return Image.fromarray(pixels)


def cutout_png(image: Image.Image, small_mask: Image.Image) -> tuple[bytes, Box | None]:
    """The default result (RGB photo -> RGBA cutout PNG) in one pass of parallel row bands.

    Per band: upscale the mask rows, put them in as alpha and premultiply the colour by them
    (Pillow's RGBA -> "RGBa" conversion rounds exactly as Image.composite(img, transparent,
    mask) does, i.e. rembg's naive_cutout: identical bytes), note the subject's rows; then
    png.encode_bands filters and deflates the bands in parallel.
    """
    upscaler = _Upscaler(small_mask, image.size)
    boxes: dict[int, tuple[int, int, int, int] | None] = {}

    def fill(out: np.ndarray, y0: int, y1: int) -> None:
        alpha = upscaler.band(y0, y1)
        band = image.crop((0, y0, image.width, y1)).convert("RGBA")
        band.putalpha(alpha)
        out[...] = np.asarray(band.convert("RGBa"))
        boxes[y0] = alpha.point(_SUBJECT_LUT).getbbox()

    body = png.encode_bands(image.width, image.height, "RGBA", fill, _pool, WORKERS, PNG_COMPRESS_LEVEL)
    found = [(left, y0 + top, right, y0 + bottom)
             for y0, bbox in boxes.items() if bbox is not None for left, top, right, bottom in [bbox]]
    if not found:
        return body, None
    left, top = min(b[0] for b in found), min(b[1] for b in found)
    right, bottom = max(b[2] for b in found), max(b[3] for b in found)
    return body, Box(left, top, right - left, bottom - top)


def remove_background(
    data: bytes, options: RemovalOptions, model: MaskModel, limits: DecodeLimits
) -> Cutout:
    stage_ms: dict[str, float] = {}
    started = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal started
        now = time.perf_counter()
        stage_ms[stage] = round((now - started) * 1000, 2)
        started = now

    image = decode_image(data, limits)
    lap("decode")
    small = model.small_mask(image) if hasattr(model, "small_mask") else None
    lap("infer")
    if small is not None and image.mode == "RGB" and options == RemovalOptions(format="png"):
        # The default request (and every S3 record): fused, parallel upscale + cutout + PNG.
        body, subject = cutout_png(image, small)
        box = subject or Box(0, 0, 0, 0)
        width, height = image.size
        lap("compose_encode")
    else:
        mask = _Upscaler(small, image.size).full() if small is not None else model.mask(image)
        result, box = compose(image, mask, options)
        lap("compose")
        body = encode(result, options.format)
        width, height = result.size
        lap("encode")
    return Cutout(
        body=body,
        format=options.format,
        width=width,
        height=height,
        foreground=box,
        source_width=image.width,
        source_height=image.height,
        stage_ms=stage_ms,
    )
