"""Product-photo composition: the cutout on a canvas of a fixed size, over a colour or an image, with a shadow.

Everything is drawn band by band into one output array, as banded.render does: a background image
is resampled per band straight from its decoded pixels (never a full-size resized copy), and the
shadow is blurred on a grid reduced by the blur itself (a blur of r pixels hides detail finer than
r/4), so it costs a small fraction of the output however large the output is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from function.imaging import banded, png
from function.imaging.options import Canvas, Shadow

# A gaussian's reach, in radii, beyond which it adds nothing visible.
BLUR_REACH = 3
# The shadow is blurred on a grid this many times coarser than the blur radius (at least 1 px a cell).
SHADOW_CELLS_PER_RADIUS = 4
# Defaults that scale with the subject's longest side, so a shadow looks alike at 0.3 and 50 MP.
SHADOW_BLUR_SHARE = 0.02
SHADOW_OFFSET_SHARE = (0.01, 0.02)


@dataclass(frozen=True)
class Placement:
    """`source` (its `src_box`, in source pixels) drawn into the output rectangle `dest`
    (left, top, right, bottom), which may reach past the output's edges."""

    source: Image.Image
    src_box: tuple[float, float, float, float]
    dest: tuple[int, int, int, int]

    @classmethod
    def at(cls, source: Image.Image, left: int, top: int) -> Placement:
        """`source` unscaled, its top-left corner at (left, top)."""
        return cls(source, (0, 0, *source.size), (left, top, left + source.width, top + source.height))

    def band(self, y0: int, y1: int, width: int) -> tuple[Image.Image, tuple[int, int]] | None:
        """The part of the placed picture on output rows [y0, y1), and where it goes in that band."""
        left, top, right, bottom = self.dest
        x0, x1, t, b = max(left, 0), min(right, width), max(top, y0), min(bottom, y1)
        if x0 >= x1 or t >= b:
            return None
        sx0, sy0, sx1, sy1 = self.src_box
        kx, ky = (sx1 - sx0) / (right - left), (sy1 - sy0) / (bottom - top)
        box = (sx0 + (x0 - left) * kx, sy0 + (t - top) * ky, sx0 + (x1 - left) * kx, sy0 + (b - top) * ky)
        # Floating-point steps may overshoot the source's edge by a hair, which Pillow refuses.
        box = (max(box[0], 0), max(box[1], 0), min(box[2], self.source.width), min(box[3], self.source.height))
        if kx == 1 and ky == 1 and all(float(v).is_integer() for v in box):
            piece = self.source.crop((int(box[0]), int(box[1]), int(box[2]), int(box[3])))  # unscaled: the very pixels
        else:
            piece = self.source.resize((x1 - x0, b - t), Image.Resampling.BICUBIC, box=box)
        return piece, (x0, t - y0)


def fitted(
    size: tuple[int, int], content: tuple[int, int], fit: str
) -> tuple[tuple[float, float, float, float], tuple[int, int, int, int]]:
    """(src_box, dest) that put a picture of size `content` on an output of `size`: `cover` fills it
    (cropping the overflow evenly), `contain` shows all of it centred, `stretch` fills it exactly."""
    width, height = size
    cw, ch = content
    if fit == "stretch":
        return (0, 0, cw, ch), (0, 0, width, height)
    if fit == "cover":
        scale = max(width / cw, height / ch)
        sw, sh = width / scale, height / scale
        return ((cw - sw) / 2, (ch - sh) / 2, (cw + sw) / 2, (ch + sh) / 2), (0, 0, width, height)
    scale = min(width / cw, height / ch)
    dw, dh = max(1, round(cw * scale)), max(1, round(ch * scale))
    left, top = (width - dw) // 2, (height - dh) // 2
    return (0, 0, cw, ch), (left, top, left + dw, top + dh)


@dataclass(frozen=True)
class Fit:
    """How the rendered area goes onto a canvas: its scale and where its top-left corner lands."""

    scale: float
    size: tuple[int, int]  # the area's size once scaled
    left: int
    top: int


def on_canvas(area: tuple[int, int], subject: tuple[int, int, int, int] | None, canvas: Canvas) -> Fit:
    """Fit the area (size `area`, the subject at `subject` = left, top, width, height in it) into
    the canvas minus its margin: the subject centred (position=center), or the whole area centred
    (original, which keeps the subject where it was in the photo). Never enlarged unless `upscale`."""
    mx = canvas.margin.pixels(canvas.width) if canvas.margin else 0
    my = canvas.margin.pixels(canvas.height) if canvas.margin else 0
    room = (max(1, canvas.width - 2 * mx), max(1, canvas.height - 2 * my))
    centred = subject if canvas.position == "center" else None
    content = centred[2:] if centred else area
    scale = min(room[0] / content[0], room[1] / content[1])
    if not canvas.upscale:
        scale = min(scale, 1.0)
    size = (max(1, round(area[0] * scale)), max(1, round(area[1] * scale)))
    if centred:
        cx, cy = centred[0] + centred[2] / 2, centred[1] + centred[3] / 2
    else:
        cx, cy = area[0] / 2, area[1] / 2
    return Fit(scale, size, round(canvas.width / 2 - cx * scale), round(canvas.height / 2 - cy * scale))


def resized(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGBA or L array resized to `size` (LANCZOS, colour premultiplied by alpha as Pillow's own
    RGBA resize does), band by band: only a band of rows (plus the filter's reach) is ever converted,
    so no full-size premultiplied copy is made next to the source."""
    height, width = pixels.shape[:2]
    out_width, out_height = size
    mode = "L" if pixels.ndim == 2 else "RGBA"
    out = np.empty((out_height, out_width) if mode == "L" else (out_height, out_width, 4), np.uint8)
    ky = height / out_height
    reach = math.ceil(3 * max(ky, 1.0)) + 1  # LANCZOS's support, in source rows

    def fill(span: tuple[int, int]) -> None:
        y0, y1 = span
        top, bottom = y0 * ky, y1 * ky
        r0, r1 = max(0, math.floor(top) - reach), min(height, math.ceil(bottom) + reach)
        rows = Image.fromarray(pixels[r0:r1], mode)
        rows = rows if mode == "L" else rows.convert("RGBa")
        band = rows.resize((out_width, y1 - y0), Image.Resampling.LANCZOS, box=(0, top - r0, width, bottom - r0))
        out[y0:y1] = np.asarray(band if mode == "L" else band.convert("RGBA"))

    channels = 1 if mode == "L" else 4
    list(banded.pool.map(fill, png.band_spans(out_height, out_width * channels, banded.WORKERS)))
    return out


def shadow_placement(cutout: Image.Image, left: int, top: int, shadow: Shadow, subject_side: int) -> Placement:
    """The shadow of an RGBA cutout placed at (left, top): its alpha blurred, shifted and faded, as an
    L picture (the shadow's opacity per pixel)."""
    blur = shadow.blur if shadow.blur is not None else max(1, round(subject_side * SHADOW_BLUR_SHARE))
    dx, dy = shadow.offset or tuple(round(subject_side * share) for share in SHADOW_OFFSET_SHARE)
    cell = max(1, blur // SHADOW_CELLS_PER_RADIUS)
    # Reduced first, then split: the full-size alpha is never copied out (a cell of 1 aside).
    small = (cutout.reduce(cell) if cell > 1 else cutout).getchannel("A")
    pad = math.ceil(BLUR_REACH * blur / cell) + 1
    padded = Image.new("L", (small.width + 2 * pad, small.height + 2 * pad), 0)
    padded.paste(small, (pad, pad))
    if blur:
        padded = padded.filter(ImageFilter.GaussianBlur(blur / cell))
    faded = padded.point([value * shadow.opacity // 100 for value in range(256)])
    # The reduced grid spans the cutout's size exactly (reduce averages a partial last cell).
    kx, ky = cutout.width / small.width, cutout.height / small.height
    x0, y0 = left + dx - pad * kx, top + dy - pad * ky
    return Placement(
        faded, (0, 0, *faded.size), (round(x0), round(y0), round(x0 + faded.width * kx), round(y0 + faded.height * ky))
    )


def flatten(
    size: tuple[int, int],
    cutout: Placement,
    *,
    colour: tuple[int, int, int, int] | None = None,
    background: Placement | None = None,
    shadow: Placement | None = None,
    opaque: bool = False,
    into: np.ndarray | None = None,
) -> np.ndarray:
    """The output, (height, width, 3 if `opaque` else 4) uint8, drawn in bands from the bottom up:
    `colour`, the background image, the shadow (black through its alpha), the cutout. `into`: the
    cutout's own RGBA array, of the output's size, drawn over band by band (each band reads only its
    own rows before writing them), so no second full-size array is made; it stays RGBA."""
    width, height = size
    if cutout.source.mode == "L":  # only_mask: the mask on the canvas, nothing else
        return _mask_on_canvas(size, cutout)
    channels = 4 if into is not None or not opaque else 3
    pixels = into if into is not None else np.empty((height, width, channels), np.uint8)

    def fill(span: tuple[int, int]) -> None:
        y0, y1 = span
        band = Image.new("RGBA", (width, y1 - y0), colour or (0, 0, 0, 0))
        if background is not None and (part := background.band(y0, y1, width)):
            piece, where = part
            band.alpha_composite(piece.convert("RGBA"), dest=where)
        if shadow is not None and (part := shadow.band(y0, y1, width)):
            piece, where = part
            black = Image.new("RGBA", piece.size, (0, 0, 0, 255))
            black.putalpha(piece)
            band.alpha_composite(black, dest=where)
        if part := cutout.band(y0, y1, width):
            piece, where = part
            band.alpha_composite(piece, dest=where)
        pixels[y0:y1] = np.asarray(band.convert("RGB") if channels == 3 else band)

    list(banded.pool.map(fill, png.band_spans(height, width * channels, banded.WORKERS)))
    return pixels


def _mask_on_canvas(size: tuple[int, int], mask: Placement) -> np.ndarray:
    width, height = size
    pixels = np.zeros((height, width), np.uint8)

    def fill(span: tuple[int, int]) -> None:
        if part := mask.band(*span, width):
            piece, (x, y) = part
            pixels[span[0] + y : span[0] + y + piece.height, x : x + piece.width] = np.asarray(piece)

    list(banded.pool.map(fill, png.band_spans(height, width, banded.WORKERS)))
    return pixels
