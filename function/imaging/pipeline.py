"""The one image pipeline: bytes -> decode -> mask -> compose -> encode -> bytes + facts.

No AWS and no HTTP in here: the HTTP API and the S3 handler both call `remove_background`
and only differ in where the bytes come from and go to.
"""

from __future__ import annotations

import io
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from function.errors import ErrorCode, InputTooLarge, InvalidOption
from function.imaging import banded
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.edges import EdgeColours
from function.imaging.failures import processing
from function.imaging.options import CONTENT_TYPES, Margin, Matting, RemovalOptions
from function.imaging.stages import Trace, timed, untraced

# A pixel counts as subject (for `crop` and the X-Foreground-* box) above this alpha. The
# model leaves faint noise (1-5) in backgrounds; 10 is rembg's own "background" threshold.
FOREGROUND_ALPHA = 10
WEBP_QUALITY = 90
_SUBJECT_LUT = [255 if value > FOREGROUND_ALPHA else 0 for value in range(256)]


class MaskModel(Protocol):
    name: str

    def small_mask(self, image: Image.Image) -> Image.Image:
        """The mask at the model's resolution (e.g. 320x320, mode L); the pipeline upscales it."""


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


def _box(bbox: tuple[int, int, int, int] | None) -> Box | None:
    if bbox is None:
        return None
    left, top, right, bottom = bbox
    return Box(left, top, right - left, bottom - top)


def subject_box(mask: Image.Image) -> Box | None:
    return _box(mask.point(_SUBJECT_LUT).getbbox())


def crop_area(box: Box, margin: Margin | None, limits: DecodeLimits) -> tuple[tuple[int, int, int, int], Box]:
    """The subject plus margin, and the subject's box within it. A margin past the photo's edge is
    transparent padding: the one way a result can outgrow its input, so it gets the input's limits."""
    dx = margin.pixels(box.width) if margin else 0
    dy = margin.pixels(box.height) if margin else 0
    width, height = box.width + 2 * dx, box.height + 2 * dy
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise InvalidOption(
            f"crop_margin would make a {width}x{height} result, over the size limits",
            code=ErrorCode.CROP_MARGIN_TOO_LARGE,
        )
    return (box.left - dx, box.top - dy, box.left + width - dx, box.top + height - dy), Box(
        dx, dy, box.width, box.height
    )


def layout(mask: Image.Image, options: RemovalOptions, limits: DecodeLimits) -> tuple[tuple[int, int, int, int], Box]:
    """The area of the picture the result shows, and the subject's box within it."""
    box = subject_box(mask)
    if box is None:
        return (0, 0, *mask.size), Box(0, 0, 0, 0)
    if options.crop or options.crop_margin:
        return crop_area(box, options.crop_margin, limits)
    return (0, 0, *mask.size), box


def compose(
    image: Image.Image,
    mask: Image.Image,
    options: RemovalOptions,
    limits: DecodeLimits,
    matte: Image.Image | None = None,
    webp_max_pixels: int | None = None,
    edges: EdgeColours | None = None,
) -> tuple[np.ndarray, Box]:
    """The output pixels and the subject's box within them. Cropped before flattening onto
    bgcolor, so a crop margin's padding takes the background colour too. `matte`: alpha matting's
    cutout; `edges`: clean the soft edge's colours, band by band."""
    area, box = layout(mask, options, limits)
    if options.format == "webp":
        check_webp_size(area[2] - area[0], area[3] - area[1], webp_max_pixels)
    bgcolor = None if options.only_mask else options.bgcolor
    pixels = banded.render(image, mask, area, only_mask=options.only_mask, bgcolor=bgcolor, matte=matte, edges=edges)
    return pixels, box


def cleans_edges(image: Image.Image, options: RemovalOptions) -> bool:
    """Edges are unmixed for RGB photos; post-processed masks are hard (no soft edge), and an
    input's own transparency keeps rembg's compositing."""
    return options.decontaminate and not (options.only_mask or options.post_process_mask) and image.mode == "RGB"


def check_webp_size(width: int, height: int, webp_max_pixels: int | None) -> None:
    # libwebp holds the whole picture plus its own work buffers (up to ~40 bytes a pixel).
    if webp_max_pixels and width * height > webp_max_pixels:
        raise InputTooLarge(
            f"format=webp is limited to {webp_max_pixels / 1e6:g} MP; this result is {width * height / 1e6:.1f} MP "
            "(use scale= to shrink it, or format=png)",
            code=ErrorCode.WEBP_TOO_LARGE,
        )


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    if fmt == "png":
        return banded.encode_png(pixels)
    buffer = io.BytesIO()
    Image.fromarray(pixels, banded.mode_of(pixels)).save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return buffer.getvalue()


def alpha_matte(image: Image.Image, mask: Image.Image, matting: Matting) -> Image.Image | None:
    """rembg's alpha matting; None where it gives up (it raises ValueError on degenerate trimaps)."""
    from function.runtime.coldstart import load_matting  # pymatting is imported on the first request that needs it

    try:
        return load_matting()(
            image, mask, matting.foreground_threshold, matting.background_threshold, matting.erode_size
        )
    except ValueError:
        return None


def remove_background(
    data: bytes,
    options: RemovalOptions,
    model: MaskModel,
    limits: DecodeLimits,
    trace: Trace = untraced,
    matting_max_pixels: int | None = None,
    webp_max_pixels: int | None = None,
) -> Cutout:
    """The whole pipeline. `trace` wraps each stage (the entry points pass X-Ray subsegments).

    Every step but inference works on bytes already in memory, so its failures are the input's
    and become refusals (failures.py); inference sees a fixed-size model input, so its failures
    are the service's (a 500, or an S3 retry)."""
    stage_ms: dict[str, float] = {}

    def stage(name: str) -> AbstractContextManager[None]:
        return timed(name, stage_ms, trace)

    with stage("decode"):
        image = decode_image(data, limits)
        source_width, source_height = image.size
        if options.scale and max(image.size) > options.scale:
            with processing("scaling"):
                image.thumbnail((options.scale, options.scale), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if options.matting and matting_max_pixels and image.width * image.height > matting_max_pixels:
        raise InputTooLarge(
            f"alpha matting is limited to {matting_max_pixels / 1e6:g} MP; this image is "
            f"{image.width * image.height / 1e6:.1f} MP (use scale= to shrink it first)",
            code=ErrorCode.ALPHA_MATTING_TOO_LARGE,
        )
    if options.format == "webp" and not (options.crop or options.crop_margin):  # refuse before the work
        check_webp_size(*image.size, webp_max_pixels)
    with stage("infer"):
        small = model.small_mask(image)
    if image.mode == "RGB" and options in (RemovalOptions(), RemovalOptions(decontaminate=False)):
        # The default request (and S3 records with default options): fused, parallel upscale + cutout + PNG.
        with stage("compose_encode"), processing("the cutout"):
            edges = EdgeColours.estimate(image, small) if options.decontaminate else None
            body, bbox = banded.cutout_png(image, small, _SUBJECT_LUT, edges)
        return Cutout(
            body, "png", image.width, image.height, _box(bbox) or Box(0, 0, 0, 0), source_width, source_height, stage_ms
        )
    with stage("compose"), processing("the mask upscale"):
        mask = banded.Upscaler(small, image.size).full()
        if options.post_process_mask:
            mask = banded.post_process_mask(mask)
    matte = None
    if options.matting and not options.only_mask:
        with stage("matte"), processing("alpha matting"):
            matte = alpha_matte(image, mask, options.matting)
    with stage("compose"), processing("composing"):
        edges = EdgeColours.estimate(image, small) if matte is None and cleans_edges(image, options) else None
        pixels, box = compose(image, mask, options, limits, matte, webp_max_pixels, edges)
    del image, mask, matte, edges  # the encoder's own buffers come next; the source is no longer needed
    with stage("encode"), processing("encoding"):
        body = encode(pixels, options.format)
    return Cutout(body, options.format, pixels.shape[1], pixels.shape[0], box, source_width, source_height, stage_ms)
