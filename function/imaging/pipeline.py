"""The one image pipeline: bytes -> decode -> mask -> compose -> encode -> bytes + facts.

No AWS and no HTTP in here: the HTTP API and the S3 handler both call `remove_background`
and only differ in where the bytes come from and go to.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image

from function.errors import ErrorCode, InputTooLarge, InvalidOption
from function.imaging import banded
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.edges import EdgeColours
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


def crop_to_subject(
    result: Image.Image, box: Box, margin: Margin | None, limits: DecodeLimits
) -> tuple[Image.Image, Box]:
    """Trim to the subject plus margin; a margin past the photo's edge is transparent padding.

    The padding is the one way a result can outgrow its input, so it gets the input's limits."""
    dx = margin.pixels(box.width) if margin else 0
    dy = margin.pixels(box.height) if margin else 0
    width, height = box.width + 2 * dx, box.height + 2 * dy
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise InvalidOption(
            f"crop_margin would make a {width}x{height} result, over the size limits", code=ErrorCode.CROP_MARGIN_TOO_LARGE
        )
    area = (box.left - dx, box.top - dy, box.left + width - dx, box.top + height - dy)
    return result.crop(area), Box(dx, dy, box.width, box.height)


def compose(
    image: Image.Image,
    mask: Image.Image,
    options: RemovalOptions,
    limits: DecodeLimits,
    cutout: Image.Image | None = None,
) -> tuple[Image.Image, Box]:
    """The output picture and the subject's box within it. `cutout`: one made already (alpha
    matting's, or the clean-edged one). Crop before flattening onto bgcolor, so a crop margin's
    padding takes the background colour too."""
    box = subject_box(mask)
    if options.only_mask:
        result = mask
    elif cutout is not None:
        result = cutout
    else:
        # Same compositing as rembg's default cutout, so results match rembg's pixel for pixel.
        result = Image.composite(image.convert("RGBA"), Image.new("RGBA", image.size, 0), mask)
    if box is None:
        box = Box(0, 0, 0, 0)
    elif options.crop or options.crop_margin:
        result, box = crop_to_subject(result, box, options.crop_margin, limits)
    if options.bgcolor is not None and not options.only_mask:
        background = Image.new("RGBA", result.size, options.bgcolor)
        result = Image.alpha_composite(background, result)
        if options.bgcolor[3] == 255:
            result = result.convert("RGB")
    return result, box


def encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "png":
        return banded.encode_png(image)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return buffer.getvalue()


def alpha_matte(image: Image.Image, mask: Image.Image, matting: Matting) -> Image.Image | None:
    """rembg's alpha matting; None where it gives up (it raises ValueError on degenerate trimaps)."""
    from function.imaging.coldstart import load_matting  # pymatting is imported on the first request that needs it

    try:
        return load_matting()(
            image, mask, matting.foreground_threshold, matting.background_threshold, matting.erode_size
        )
    except ValueError:
        return None


def _cleans_edges(image: Image.Image, options: RemovalOptions) -> bool:
    """Edges are unmixed for RGB photos; post-processed masks are hard (no soft edge), and an
    input's own transparency keeps rembg's compositing."""
    return options.decontaminate and not (options.only_mask or options.post_process_mask) and image.mode == "RGB"


def _clean_cutout(image: Image.Image, mask: Image.Image, small: Image.Image) -> Image.Image | None:
    edges = EdgeColours.estimate(image, small)
    if edges is None:
        return None
    pixels, _ = banded.cutout(image, lambda y0, y1: mask.crop((0, y0, mask.width, y1)), _SUBJECT_LUT, edges)
    return Image.fromarray(pixels)


def remove_background(
    data: bytes,
    options: RemovalOptions,
    model: MaskModel,
    limits: DecodeLimits,
    trace: Trace = untraced,
    matting_max_pixels: int | None = None,
) -> Cutout:
    """The whole pipeline. `trace` wraps each stage (the entry points pass X-Ray subsegments)."""
    stage_ms: dict[str, float] = {}

    def stage(name: str):
        return timed(name, stage_ms, trace)

    with stage("decode"):
        image = decode_image(data, limits)
        source_width, source_height = image.size
        if options.scale and max(image.size) > options.scale:
            image.thumbnail((options.scale, options.scale), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if options.matting and matting_max_pixels and image.width * image.height > matting_max_pixels:
        raise InputTooLarge(
            f"alpha matting is limited to {matting_max_pixels / 1e6:g} MP; this image is "
            f"{image.width * image.height / 1e6:.1f} MP (use scale= to shrink it first)",
            code=ErrorCode.ALPHA_MATTING_TOO_LARGE,
        )
    with stage("infer"):
        small = model.small_mask(image)
    if image.mode == "RGB" and options in (RemovalOptions(), RemovalOptions(decontaminate=False)):
        # The default request (and every S3 record): fused, parallel upscale + cutout + PNG.
        with stage("compose_encode"):
            edges = EdgeColours.estimate(image, small) if options.decontaminate else None
            body, bbox = banded.cutout_png(image, small, _SUBJECT_LUT, edges)
        box, size = _box(bbox) or Box(0, 0, 0, 0), image.size
    else:
        with stage("compose"):
            mask = banded.Upscaler(small, image.size).full()
            if options.post_process_mask:
                mask = banded.post_process_mask(mask)
        cutout = None
        if options.matting and not options.only_mask:
            with stage("matte"):
                cutout = alpha_matte(image, mask, options.matting)
        with stage("compose"):
            if cutout is None and _cleans_edges(image, options):
                cutout = _clean_cutout(image, mask, small)
            result, box = compose(image, mask, options, limits, cutout)
        with stage("encode"):
            body = encode(result, options.format)
        size = result.size
    return Cutout(body, options.format, size[0], size[1], box, source_width, source_height, stage_ms)
