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

from function.errors import ErrorCode, InputTooLarge, InvalidOption, ServiceError
from function.imaging import banded, layers
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.edges import EdgeColours
from function.imaging.failures import processing
from function.imaging.matting import alpha_matte
from function.imaging.options import CONTENT_TYPES, Margin, RemovalOptions, Roi
from function.imaging.stages import Trace, timed, untraced

# A pixel counts as subject (for `crop` and the X-Foreground-* box) above this alpha. The
# model leaves faint noise (1-5) in backgrounds; 10 is rembg's own "background" threshold.
FOREGROUND_ALPHA = 10
WEBP_QUALITY = 90
JPEG_QUALITY = 90
WHITE = (255, 255, 255, 255)
# A canvas may have this share of the input pixel cap: it is drawn next to the rendered cutout.
CANVAS_PIXEL_SHARE = 0.5
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


def subject_box(mask: banded.Mask) -> Box | None:
    if isinstance(mask, banded.UpscaledMask):
        return _box(mask.bbox(_SUBJECT_LUT))
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


def layout(mask: banded.Mask, options: RemovalOptions, limits: DecodeLimits) -> tuple[tuple[int, int, int, int], Box]:
    """The area of the picture the result shows, and the subject's box within it."""
    box = subject_box(mask)
    if box is None:
        return (0, 0, *mask.size), Box(0, 0, 0, 0)
    # A canvas centres the subject, so only the subject (and its crop margin) is drawn on it.
    centred = options.canvas is not None and options.canvas.position == "center"
    if options.crop or options.crop_margin or centred:
        return crop_area(box, options.crop_margin, limits)
    return (0, 0, *mask.size), box


def layered(options: RemovalOptions, background: bool = False) -> bool:
    """The result is drawn in layers (layers.py): a canvas, or under the cutout a shadow or an image."""
    return options.canvas is not None or (not options.only_mask and (options.shadow is not None or background))


def flat_colour(options: RemovalOptions, fmt: str) -> tuple[int, int, int, int] | None:
    """The colour under the cutout: bgcolor, and for JPEG (which has no alpha) over white."""
    if options.only_mask:
        return None
    colour = options.bgcolor
    if fmt != "jpg" or (colour is not None and colour[3] == 255):
        return colour
    if colour is None:
        return WHITE
    over = Image.alpha_composite(Image.new("RGBA", (1, 1), WHITE), Image.new("RGBA", (1, 1), colour))
    red, green, blue, alpha = over.tobytes()
    return red, green, blue, alpha


def compose(
    image: Image.Image,
    mask: banded.Mask,
    options: RemovalOptions,
    limits: DecodeLimits,
    matte: Image.Image | None = None,
    webp_max_pixels: int | None = None,
    edges: EdgeColours | None = None,
    fmt: str | None = None,
    background: bool = False,
) -> tuple[np.ndarray, Box]:
    """The output pixels and the subject's box within them. Cropped before flattening onto
    bgcolor, so a crop margin's padding takes the background colour too. `matte`: alpha matting's
    cutout; `edges`: clean the soft edge's colours, band by band. For a layered result (canvas,
    shadow, background image) this is the cutout alone, which `arrange` then places."""
    fmt = fmt or options.delivered_format(background)
    area, box = layout(mask, options, limits)
    is_layered = layered(options, background)
    if fmt == "webp" and not is_layered:
        check_webp_size(area[2] - area[0], area[3] - area[1], webp_max_pixels)
    bgcolor = None if is_layered else flat_colour(options, fmt)
    pixels = banded.render(image, mask, area, only_mask=options.only_mask, bgcolor=bgcolor, matte=matte, edges=edges)
    return pixels, box


@dataclass(frozen=True)
class Placed:
    """The cutout placed for drawing: `picture` at its output scale with its top-left corner at
    (left, top) of an output of `size`; `pixels` is the cutout's own array when it was not scaled
    (and the output is drawn into it, in place, when it is the output's whole size)."""

    picture: Image.Image
    pixels: np.ndarray | None
    left: int
    top: int
    size: tuple[int, int]
    scale: float
    subject: Box  # in the output, clipped to it


def place(cutout: np.ndarray, box: Box, options: RemovalOptions) -> Placed:
    """Where the cutout (from `compose`) goes: on its canvas, scaled to fit, or as it is."""
    picture = Image.fromarray(cutout, banded.mode_of(cutout))  # shares the array's memory
    left = top = 0
    size, scale = picture.size, 1.0
    pixels: np.ndarray | None = cutout
    if options.canvas is not None:
        subject = (box.left, box.top, box.width, box.height) if box.width else None
        fit = layers.on_canvas(picture.size, subject, options.canvas)
        size, scale, left, top = (options.canvas.width, options.canvas.height), fit.scale, fit.left, fit.top
        if fit.size != picture.size:
            picture = Image.fromarray(layers.resized(cutout, fit.size), picture.mode)
            pixels = None
    found = box if box.width and scale == 1.0 else None
    if scale != 1.0:  # measured on the scaled picture, which is at most the canvas's size
        found = subject_box(picture if picture.mode == "L" else picture.getchannel("A"))
    placed = Box(0, 0, 0, 0)
    if found is not None:  # the subject as delivered: moved by the placement, clipped to the output
        x0, y0 = max(found.left + left, 0), max(found.top + top, 0)
        x1, y1 = min(found.left + found.width + left, size[0]), min(found.top + found.height + top, size[1])
        placed = Box(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))
    return Placed(picture, pixels, left, top, size, scale, placed)


def draw(
    placed: Placed, options: RemovalOptions, fmt: str, background: Image.Image | None = None
) -> tuple[np.ndarray, bool]:
    """The output: the placed cutout over the colour or background image, with its shadow. Returns
    the pixels and whether they are opaque RGBA whose alpha the encoder is to drop (drawn in place
    into the cutout's own array, which is RGBA)."""
    picture = placed.picture
    shadow = None
    if options.shadow is not None and picture.mode != "L" and placed.subject.width:
        side = max(round(max(placed.subject.width, placed.subject.height)), 1)
        shadow = layers.shadow_placement(picture, placed.left, placed.top, options.shadow, side)
    under = None
    if background is not None and picture.mode != "L":
        src_box, dest = layers.fitted(placed.size, background.size, options.bg_fit)
        under = layers.Placement(background, src_box, dest)
    colour = flat_colour(options, fmt)
    covered = background is not None and background.mode == "RGB" and options.bg_fit != "contain"
    opaque = fmt == "jpg" or covered or (colour is not None and colour[3] == 255)
    in_place = placed.pixels is not None and picture.mode == "RGBA" and placed.size == picture.size
    pixels = layers.flatten(
        placed.size,
        layers.Placement.at(picture, placed.left, placed.top),
        colour=colour,
        background=under,
        shadow=shadow,
        opaque=opaque,
        into=placed.pixels if in_place else None,
    )
    return pixels, opaque and in_place


def roi_box(roi: Roi, source_size: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The region of interest (given in the source's pixels or percent) in an image of `size`."""
    x1, y1, x2, y2 = roi.box(*source_size)
    kx, ky = size[0] / source_size[0], size[1] / source_size[1]
    x1, x2, y1, y2 = round(x1 * kx), round(x2 * kx), round(y1 * ky), round(y2 * ky)
    if x2 <= x1 or y2 <= y1:
        raise InvalidOption(f"roi leaves nothing of the {source_size[0]}x{source_size[1]} image")
    return x1, y1, x2, y2


def clip_to_roi(mask: Image.Image, roi: Roi, source_size: tuple[int, int]) -> None:
    """Alpha 0 outside the region of interest (given in the source's pixels), in place."""
    x1, y1, x2, y2 = roi_box(roi, source_size, mask.size)
    clear = 0 if mask.mode == "L" else (0, 0, 0, 0)
    width, height = mask.size
    for outside in ((0, 0, width, y1), (0, y2, width, height), (0, y1, x1, y2), (x2, y1, width, y2)):
        if outside[2] > outside[0] and outside[3] > outside[1]:
            mask.paste(clear, outside)


def decode_background(data: bytes, limits: DecodeLimits) -> Image.Image:
    """The background image, under the same caps as any input; refusals say it was the background."""
    try:
        return decode_image(data, limits)
    except ServiceError as error:
        raise type(error)(f"the background image: {error.message}", code=error.code) from error


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


def encode(pixels: np.ndarray, fmt: str, quality: int | None = None, drop_alpha: bool = False) -> bytes:
    """`drop_alpha`: RGBA pixels that are opaque, written as RGB (JPEG reads them as RGBX: no copy)."""
    if fmt == "png":
        return banded.encode_png(pixels[..., :3] if drop_alpha else pixels)
    buffer = io.BytesIO()
    if drop_alpha:
        picture = Image.frombuffer("RGBX", (pixels.shape[1], pixels.shape[0]), pixels, "raw", "RGBX", 0, 1)
        picture = picture if fmt == "jpg" else picture.convert("RGB")
    else:
        picture = Image.fromarray(pixels, banded.mode_of(pixels))
    if fmt == "jpg":
        picture.save(buffer, "JPEG", quality=quality or JPEG_QUALITY)
    else:
        picture.save(buffer, "WEBP", quality=quality or WEBP_QUALITY, method=4)
    return buffer.getvalue()


def remove_background(
    data: bytes,
    options: RemovalOptions,
    model: MaskModel,
    limits: DecodeLimits,
    trace: Trace = untraced,
    matting_max_pixels: int | None = None,
    webp_max_pixels: int | None = None,
    background: bytes | None = None,
) -> Cutout:
    """The whole pipeline. `trace` wraps each stage (the entry points pass X-Ray subsegments).
    `background`: the bytes of an image to put under the cutout (decoded under the same caps).

    Every step but inference works on bytes already in memory, so its failures are the input's
    and become refusals (failures.py); inference sees a fixed-size model input, so its failures
    are the service's (a 500, or an S3 retry)."""
    stage_ms: dict[str, float] = {}
    fmt = options.delivered_format(background is not None)
    if (
        options.canvas is not None
        and options.canvas.width * options.canvas.height > limits.max_pixels * CANVAS_PIXEL_SHARE
    ):
        raise InvalidOption(
            f"canvas is limited to {limits.max_pixels * CANVAS_PIXEL_SHARE / 1e6:g} MP; "
            f"{options.canvas.width}x{options.canvas.height} is {options.canvas.width * options.canvas.height / 1e6:.1f} MP"
        )

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
    if fmt == "webp" and not (options.crop or options.crop_margin or options.canvas):  # refuse before the work
        check_webp_size(*image.size, webp_max_pixels)
    with stage("infer"):
        small = model.small_mask(image)
    if (
        image.mode == "RGB"
        and background is None
        and options in (RemovalOptions(), RemovalOptions(decontaminate=False))
    ):
        # The default request (and S3 records with default options): fused, parallel upscale + cutout + PNG.
        with stage("compose_encode"), processing("the cutout"):
            edges = EdgeColours.estimate(image, small) if options.decontaminate else None
            body, bbox = banded.cutout_png(image, small, _SUBJECT_LUT, edges)
        return Cutout(
            body, "png", image.width, image.height, _box(bbox) or Box(0, 0, 0, 0), source_width, source_height, stage_ms
        )
    mask: banded.Mask
    full: Image.Image | None = None
    with stage("compose"), processing("the mask upscale"):
        if options.post_process_mask or options.matting:
            full = banded.Upscaler(small, image.size).full()
            if options.post_process_mask:
                full = banded.post_process_mask(full)
            if options.roi:
                clip_to_roi(full, options.roi, (source_width, source_height))
            mask = full
        else:  # upscaled band by band as the rendering asks: the full-size mask is never held
            keep = roi_box(options.roi, (source_width, source_height), image.size) if options.roi else None
            mask = banded.UpscaledMask(banded.Upscaler(small, image.size), keep)
    matte = None
    if options.matting and full is not None and not options.only_mask:
        with stage("matte"), processing("alpha matting"):
            matte = alpha_matte(image, full, options.matting)
            if matte is not None and options.roi:
                clip_to_roi(matte, options.roi, (source_width, source_height))
    with stage("compose"), processing("composing"):
        edges = EdgeColours.estimate(image, small) if matte is None and cleans_edges(image, options) else None
        pixels, box = compose(image, mask, options, limits, matte, webp_max_pixels, edges, fmt, background is not None)
    del image, mask, full, matte, edges  # the encoder's own buffers come next; the source is no longer needed
    drop_alpha = False
    if layered(options, background is not None):
        with stage("compose"), processing("composing"):
            placed = place(pixels, box, options)
        del pixels  # scaled onto a canvas, the full-size cutout goes before the background comes
        if fmt == "webp":
            check_webp_size(*placed.size, webp_max_pixels)
        picture = None
        if background is not None and not options.only_mask:
            with stage("decode"):
                picture = decode_background(background, limits)
        with stage("compose"), processing("composing"):
            pixels, drop_alpha = draw(placed, options, fmt, picture)
        box = placed.subject
        del placed, picture
    with stage("encode"), processing("encoding"):
        body = encode(pixels, fmt, options.quality, drop_alpha)
    return Cutout(body, fmt, pixels.shape[1], pixels.shape[0], box, source_width, source_height, stage_ms)
