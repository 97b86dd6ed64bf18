"""Cutouts made in parallel row bands on every CPU, straight into one output array.

rembg upscales the 320x320 mask to full size on one core, composites on one core and
deflates on one core; at 12 MP that is most of its time. Here the mask upscale, the cutout
and the PNG deflate are fused per band of rows and the bands run on a thread pool sized to
the CPUs Lambda gives (Pillow, numpy and ISA-L release the GIL). With clean edges off, pixels
match rembg's; with them on (the default), the soft edge is unmixed in the same bands (edges.py).
Every other option combination (crop, bgcolor, masks, mattes) is rendered band by band too,
so a request holds one full-size output next to its input, never a chain of full-size copies.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from function.imaging import png
from function.imaging.edges import EdgeColours
from function.imaging.model import usable_cpus

WORKERS = usable_cpus()
# Created once per process; threads start on first use and idle between requests.
pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bands")


class Upscaler:
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
        list(pool.map(fill, png.band_spans(self.height, self.width * 4, WORKERS)))
        return Image.fromarray(pixels)


class UpscaledMask:
    """The full-size mask without ever holding it whole: the rows a crop needs are upscaled when asked,
    in the same bands as `Upscaler.full` (so every row is the one `full()` would give), and outside
    `keep` (a region of interest) it reads 0. Stands in for the mask Image where only crops are taken."""

    def __init__(self, upscaler: Upscaler, keep: tuple[int, int, int, int] | None = None):
        self.upscaler = upscaler
        self.width, self.height = upscaler.width, upscaler.height
        self.size = (self.width, self.height)
        self.keep = keep
        self.spans = png.band_spans(self.height, self.width * 4, WORKERS)

    def crop(self, box: tuple[int, int, int, int]) -> Image.Image:
        left, top, right, bottom = box
        out = Image.new("L", (right - left, bottom - top), 0)
        for y0, y1 in self.spans:
            t, b = max(top, y0), min(bottom, y1)
            if t < b:
                rows = self.upscaler.band(y0, y1).crop((left, t - y0, right, b - y0))  # 0 past the sides
                out.paste(rows, (0, t - top))
        if self.keep is not None:
            kx0, ky0, kx1, ky1 = self.keep
            inside = out.crop((kx0 - left, ky0 - top, kx1 - left, ky1 - top))
            out = Image.new("L", out.size, 0)
            out.paste(inside, (kx0 - left, ky0 - top))
        return out

    def bbox(self, subject_lut: list[int]) -> tuple[int, int, int, int] | None:
        """The subject's bounding box (pixels the LUT keeps), found band by band in parallel."""

        def band_box(span: tuple[int, int]) -> tuple[int, int, int, int] | None:
            found = self.crop((0, span[0], self.width, span[1])).point(subject_lut).getbbox()
            return None if found is None else (found[0], found[1] + span[0], found[2], found[3] + span[0])

        found = [box for box in pool.map(band_box, self.spans) if box is not None]
        if not found:
            return None
        return min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found), max(b[3] for b in found)


# The full-size mask, whole or upscaled on demand: all the renderer asks of it is crops.
Mask = Image.Image | UpscaledMask


def cutout(
    image: Image.Image,
    alpha_rows: Callable[[int, int], Image.Image],
    subject_lut: list[int],
    edges: EdgeColours | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """(RGBA pixels, subject bbox (left, top, right, bottom) or None), made in parallel bands.

    Per band: take its alpha rows (`alpha_rows(y0, y1)`), put them in as alpha and premultiply the
    colour by them (Pillow's RGBA -> "RGBa" conversion rounds exactly as Image.composite(img,
    transparent, mask) does, i.e. rembg's naive_cutout: identical bytes); with `edges`, clean the
    soft edge's colours (edges.py); note the subject's rows.
    """
    pixels = np.empty((image.height, image.width, 4), np.uint8)
    boxes: dict[int, tuple[int, int, int, int] | None] = {}

    def fill(span: tuple[int, int]) -> None:
        y0, y1 = span
        alpha = alpha_rows(y0, y1)
        photo = image.crop((0, y0, image.width, y1))
        if edges is None:
            band = photo.convert("RGBA")
            band.putalpha(alpha)
            pixels[y0:y1] = np.asarray(band.convert("RGBa"))
        else:
            edges.cut(pixels[y0:y1], photo, alpha, y0)
        boxes[y0] = alpha.point(subject_lut).getbbox()

    list(pool.map(fill, png.band_spans(image.height, image.width * 4, WORKERS)))
    found = [
        (x0, y0 + top, x1, y0 + bottom)
        for y0, bbox in boxes.items()
        if bbox is not None
        for x0, top, x1, bottom in [bbox]
    ]
    if not found:
        return pixels, None
    return pixels, (
        min(b[0] for b in found),
        min(b[1] for b in found),
        max(b[2] for b in found),
        max(b[3] for b in found),
    )


def cutout_png(
    image: Image.Image, small_mask: Image.Image, subject_lut: list[int], edges: EdgeColours | None = None
) -> tuple[bytes, tuple[int, int, int, int] | None]:
    """The default request in one pass: upscale the mask, cut out and deflate, all in parallel bands."""
    pixels, bbox = cutout(image, Upscaler(small_mask, image.size).band, subject_lut, edges)
    return png.encode_png(pixels, "RGBA", pool, WORKERS, png.DEFAULT_LEVEL), bbox


MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # channels -> mode


def mode_of(pixels: np.ndarray) -> str:
    return MODES[1 if pixels.ndim == 2 else pixels.shape[2]]


def render(
    image: Image.Image,
    mask: Mask,
    area: tuple[int, int, int, int],
    *,
    only_mask: bool = False,
    bgcolor: tuple[int, int, int, int] | None = None,
    matte: Image.Image | None = None,
    edges: EdgeColours | None = None,
) -> np.ndarray:
    """The picture inside `area` (a box that may reach past the image: transparent there), as
    (height, width[, channels]) uint8: the mask (L), the cutout (RGBA: rembg's composite, the
    matte, or with `edges` the clean-edged cutout), or either flattened onto `bgcolor` (RGB when
    that is opaque)."""
    left, top, right, bottom = area
    width, height = right - left, bottom - top
    flat = bgcolor is not None and not only_mask
    channels = 1 if only_mask else 3 if bgcolor is not None and bgcolor[3] == 255 else 4
    pixels = np.empty((height, width) if channels == 1 else (height, width, channels), np.uint8)

    def fill(span: tuple[int, int]) -> None:
        box = (left, top + span[0], right, top + span[1])
        band = mask.crop(box)
        if matte is not None and not only_mask:
            band = matte.crop(box)
        elif edges is not None and not only_mask:
            band = _clean_band(image, mask, box, edges)
        elif not only_mask:  # rembg's cutout: the photo composited onto transparent through the mask
            band = Image.composite(image.crop(box).convert("RGBA"), Image.new("RGBA", band.size, 0), band)
        if flat:
            band = Image.alpha_composite(Image.new("RGBA", band.size, bgcolor), band)
        pixels[span[0] : span[1]] = np.asarray(band if channels != 3 else band.convert("RGB"))

    list(pool.map(fill, png.band_spans(height, width * channels, WORKERS)))
    return pixels


def _clean_band(image: Image.Image, mask: Mask, box: tuple[int, int, int, int], edges: EdgeColours) -> Image.Image:
    """The clean-edged cutout inside `box`: unmixed over the image's full rows (the edge estimate
    is in image coordinates), then cropped; past the image's edge it is transparent."""
    left, top, right, bottom = box
    band = Image.new("RGBA", (right - left, bottom - top), 0)
    y0, y1 = max(top, 0), min(bottom, image.height)
    if y1 > y0:
        rows = np.empty((y1 - y0, image.width, 4), np.uint8)
        edges.cut(rows, image.crop((0, y0, image.width, y1)), mask.crop((0, y0, image.width, y1)), y0)
        band.paste(Image.fromarray(rows, "RGBA").crop((left, 0, right, y1 - y0)), (0, y0 - top))
    return band


def encode_png(pixels: np.ndarray) -> bytes:
    return png.encode_png(pixels, mode_of(pixels), pool, WORKERS, png.DEFAULT_LEVEL)


# rembg's mask post_process is an opening by a 3x3 disk (reach 2 rows) then a gaussian of sigma 2
# truncated at 4 sigma (reach 8 rows): bands overlapping by this many rows give the one-call result.
POST_PROCESS_REACH = 10


def post_process_mask(mask: Image.Image) -> Image.Image:
    """rembg's post_process (opening, blur, threshold at 127: a hard 0/255 mask), in parallel bands."""
    from function.runtime.coldstart import load_rembg_bg  # imports pymatting: only when asked for

    post_process = load_rembg_bg().post_process
    pixels = np.asarray(mask)
    result = np.empty_like(pixels)

    def run(span: tuple[int, int]) -> None:
        y0, y1 = span
        top, bottom = max(0, y0 - POST_PROCESS_REACH), min(mask.height, y1 + POST_PROCESS_REACH)
        result[y0:y1] = post_process(pixels[top:bottom])[y0 - top : y1 - top]

    list(pool.map(run, png.band_spans(mask.height, mask.width * 4, WORKERS)))
    return Image.fromarray(result)
