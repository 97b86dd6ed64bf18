"""The one image pipeline: bytes -> decode -> mask -> compose -> encode -> bytes + facts.

No AWS and no HTTP in here: the HTTP API and the S3 handler both call `remove_background`
and only differ in where the bytes come from and go to.
"""

from __future__ import annotations

import io
import re
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Protocol

from PIL import Image

from .errors import InvalidOption
from .images import DecodeLimits, decode_image

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp"}
# A pixel counts as subject (for `crop` and the X-Foreground-* box) above this alpha. The
# model leaves faint noise (1-5) in backgrounds; 10 is rembg's own "background" threshold.
FOREGROUND_ALPHA = 10
PNG_COMPRESS_LEVEL = 3
WEBP_QUALITY = 90
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


class MaskModel(Protocol):
    def mask(self, image: Image.Image) -> Image.Image: ...


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

    @property
    def source_megapixels(self) -> float:
        return self.source_width * self.source_height / 1e6


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
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return buffer.getvalue()


def _untraced(stage: str) -> ContextManager[None]:
    return nullcontext()


def remove_background(
    data: bytes,
    options: RemovalOptions,
    model: MaskModel,
    limits: DecodeLimits,
    trace: Callable[[str], ContextManager[None]] = _untraced,
) -> Cutout:
    """The whole pipeline. `trace` wraps each stage (the entry points pass X-Ray subsegments)."""
    stage_ms: dict[str, float] = {}

    @contextmanager
    def stage(name: str):
        started = time.perf_counter()
        with trace(name):
            yield
        stage_ms[name] = round((time.perf_counter() - started) * 1000, 2)

    with stage("decode"):
        image = decode_image(data, limits)
    with stage("infer"):
        mask = model.mask(image)
    with stage("compose"):
        result, box = compose(image, mask, options)
    with stage("encode"):
        body = encode(result, options.format)
    return Cutout(
        body=body,
        format=options.format,
        width=result.width,
        height=result.height,
        foreground=box,
        source_width=image.width,
        source_height=image.height,
        stage_ms=stage_ms,
    )
