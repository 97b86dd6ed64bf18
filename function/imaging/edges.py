"""Clean soft edges: the subject's own colour where the mask is soft, without the old background in it.

Where alpha is soft the photo's pixel is a mix I = a*F + (1-a)*B of the subject's colour F and the
background's B, and a plain cutout keeps I (rembg even keeps I*a): over a new background the old one
shows as a rim. Here, per soft pixel: B is the mean colour of the nearest confidently-background
pixels, S that of the nearest confidently-subject ones, and F is the point on the ray from B through I
(beyond I, where unmixing moves it) closest to S. F is taken on that ray rather than at
B + (I-B)/a because the model's alpha in the soft band is often off by a fifth or more, and dividing by
a wrong alpha over- or under-shoots; the ray's direction does not depend on it.

Hand-written: pymatting's estimate_foreground_ml (what rembg's `decontaminate` runs) solves for F over
the whole image and came out both slower and worse here (benchmarks/edges.py; docs/clean-edges.md).
The local colours are computed once on the model mask's small grid; the per-pixel step runs only on
the soft pixels of each band, inside banded.cutout's parallel bands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Alpha below SOFT_MIN is invisible (< 3 %) and keeps rembg's colour; from SOFT_MAX up the photo's
# own colour is used (at most 5 % background in it); the pixels between are unmixed.
SOFT_MIN = 8
SOFT_MAX = 242
# The local colours' grid: half the model mask's 320x320, as good for the edges and a quarter of the work.
GRID = (160, 160)
# Model-mask values (of 1) that count as surely background / surely subject when averaging colours,
# and how many grid cells to keep away from the edge (cells astride it hold some of both).
BACKGROUND_MAX = 0.02
SUBJECT_MIN = 0.98
BACKGROUND_MARGIN = 2
SUBJECT_MARGIN = 1
# A cell of the colour pyramid speaks for itself once this share of it is confident.
SUPPORT = 0.5
# |I - B| (of 1) below which a pixel is too close to the background to show a direction: use S.
FLAT = 0.1
# Soft pixels unmixed at a time (~10 MB of temporaries).
CHUNK_PIXELS = 1 << 16
# A mask soft over more than this share of the photo has no edge to speak of (real photos: 1-10 %):
# such masks keep rembg's colours.
MAX_SOFT_SHARE = 0.25
# The unmixing's cost is one step per soft pixel of the full-size mask: past this many (a tenth of a
# photo at the 50 MP cap, whose own edge is a few percent of it) the edge keeps rembg's colours, so
# that no mask costs more than that photo. Counted on the mask upscaled as the cutout upscales it, to
# at most SAMPLE_SIDE a side: a small mask of sharp steps is soft all over once upscaled.
MAX_SOFT_PIXELS = 5_000_000
SAMPLE_SIDE = 2048


logger = logging.getLogger(__name__)

# Alpha lifted to 255 from SOFT_MIN up, so that premultiplying keeps those pixels' own colour.
_LIFT = [255 if value >= SOFT_MIN else value for value in range(256)]


@dataclass(frozen=True)
class _Axis:
    """Bilinear lookup along one axis of the grid, for every photo pixel on it."""

    low: np.ndarray  # the grid cell before each pixel's centre
    high: np.ndarray  # the one after (the same at the borders)
    weight: np.ndarray  # of `high`

    @classmethod
    def across(cls, pixels: int, cells: int) -> _Axis:
        position = np.clip((np.arange(pixels) + 0.5) * (cells / pixels) - 0.5, 0, cells - 1)
        low = position.astype(np.intp)
        return cls(low, np.minimum(low + 1, cells - 1), (position - low).astype(np.float32)[:, np.newaxis])


@dataclass(frozen=True)
class EdgeColours:
    """The local background and subject colours on a small grid, and how to clean a band with them."""

    local: np.ndarray  # (cells, 6) float32: background RGB, subject RGB (of 1), rows of the grid flattened
    grid_width: int
    rows: _Axis
    columns: _Axis

    @classmethod
    def estimate(cls, image: Image.Image, small_mask: Image.Image) -> EdgeColours | None:
        """From an RGB photo and the model's small mask; None if there is no background or no subject,
        no edge (see MAX_SOFT_SHARE), or more edge than a photo at the caps has (MAX_SOFT_PIXELS)."""
        share = soft_share(small_mask, image.size)
        if share > MAX_SOFT_SHARE or share * image.width * image.height > MAX_SOFT_PIXELS:
            logger.info(
                "edges keep rembg's colours: the mask is soft over %.0f%% of %.1f MP (limits: %.0f%%, %.0f MP)",
                share * 100,
                image.width * image.height / 1e6,
                MAX_SOFT_SHARE * 100,
                MAX_SOFT_PIXELS / 1e6,
            )
            return None
        alpha = np.asarray(small_mask.resize(GRID, Image.Resampling.BOX), np.float32) / 255
        background = _shrink(alpha <= BACKGROUND_MAX, BACKGROUND_MARGIN)
        subject = _shrink(alpha >= SUBJECT_MIN, SUBJECT_MARGIN)
        if not background.any() or not subject.any():
            return None
        colours = np.asarray(image.resize(GRID, Image.Resampling.BOX, reducing_gap=2.0), np.float32) / 255
        local = _spread(colours, [background, subject])
        grid_h, grid_w = alpha.shape
        return cls(local.reshape(-1, 6), grid_w, _Axis.across(image.height, grid_h), _Axis.across(image.width, grid_w))

    def cut(self, out: np.ndarray, photo: Image.Image, alpha: Image.Image, y0: int) -> None:
        """Write rows y0.. of the cutout into `out` (h, w, 4): the photo's rows and their alpha, the
        colour premultiplied below SOFT_MIN (as rembg), the photo's from SOFT_MAX, unmixed between."""
        band = photo.convert("RGBA")
        band.putalpha(alpha.point(_LIFT))
        out[...] = np.asarray(band.convert("RGBa"))
        opacity = np.asarray(alpha)
        out[..., 3] = opacity
        pixels = out.reshape(-1, 4)
        soft = np.flatnonzero(_is_soft(opacity))
        # In chunks, so that a mask soft all over costs time, not memory.
        for start in range(0, soft.size, CHUNK_PIXELS):
            self._unmix(pixels, soft[start : start + CHUNK_PIXELS], y0, alpha.width)

    def _unmix(self, pixels: np.ndarray, flat: np.ndarray, y0: int, width: int) -> None:
        """Give the pixels at `flat` (indices into the band's `pixels`) their unmixed colour."""
        ys, xs = np.divmod(flat, width)
        local = self._lookup(ys + y0, xs)
        background, subject = local[:, :3], local[:, 3:]
        pixel = pixels[flat, :3].astype(np.float32) * np.float32(1 / 255)
        away = pixel - background
        distance2 = np.einsum("ij,ij->i", away, away)[:, np.newaxis]
        along = np.einsum("ij,ij->i", subject - background, away)[:, np.newaxis] / np.maximum(distance2, 1e-9)
        unmixed = background + np.maximum(along, 1.0) * away
        certain = np.minimum(distance2 * (1 / (FLAT * FLAT)), 1.0)
        colour = certain * unmixed + (1 - certain) * subject
        pixels[flat, :3] = np.rint(np.clip(colour, 0, 1) * 255).astype(np.uint8)

    def _lookup(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """The grid's colours, bilinearly interpolated at the centres of photo pixels (ys, xs)."""
        top, bottom = self.rows.low[ys] * self.grid_width, self.rows.high[ys] * self.grid_width
        left, right = self.columns.low[xs], self.columns.high[xs]
        upper, lower = self.local.take(top + left, axis=0), self.local.take(bottom + left, axis=0)
        wx = self.columns.weight[xs]
        upper += (self.local.take(top + right, axis=0) - upper) * wx
        lower += (self.local.take(bottom + right, axis=0) - lower) * wx
        upper += (lower - upper) * self.rows.weight[ys]
        colours: np.ndarray = upper
        return colours


def soft_share(small_mask: Image.Image, size: tuple[int, int]) -> float:
    """The share of the mask's pixels at `size` that the unmixing touches, on the small mask upscaled
    (LANCZOS, as banded.Upscaler does) to at most SAMPLE_SIDE a side: exact up to that size."""
    sample = (min(size[0], SAMPLE_SIDE), min(size[1], SAMPLE_SIDE))
    return float(_is_soft(np.asarray(small_mask.resize(sample, Image.Resampling.LANCZOS))).mean())


def _is_soft(alpha: np.ndarray) -> np.ndarray:
    """SOFT_MIN <= alpha < SOFT_MAX, as one unsigned comparison (below SOFT_MIN wraps around to large)."""
    return (alpha - np.uint8(SOFT_MIN)) < np.uint8(SOFT_MAX - SOFT_MIN)


def _spread(colours: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """Per mask, each grid cell gets the mean colour of the mask's cells nearest it (push-pull).

    Colour sums and counts are halved up a pyramid to one cell; coming back down, each level keeps
    its own mean where enough of it is in the mask and takes the (bilinearly enlarged) coarser mean
    elsewhere. Returns the masks' estimates side by side, 3 channels each.
    """
    weights = [mask.astype(np.float32)[..., np.newaxis] for mask in masks]
    levels = [np.concatenate([part for weight in weights for part in (colours * weight, weight)], axis=-1)]
    while max(levels[-1].shape[:2]) > 1:
        levels.append(_halve(levels[-1]))
    estimate = _means(levels[-1])  # the photo's mean per mask (no mask is empty)
    for level in reversed(levels[:-1]):
        coarse = _enlarge(estimate, level.shape[:2])
        counts = level[..., 3::4]
        support = np.repeat(np.minimum(counts / SUPPORT, 1.0), 3, axis=-1)
        estimate = support * _means(level) + (1 - support) * coarse
    return estimate


def _means(level: np.ndarray) -> np.ndarray:
    """(colour sum, count) groups of 4 channels -> mean colours, 3 channels per group."""
    groups = level.reshape(*level.shape[:2], -1, 4)
    means: np.ndarray = groups[..., :3] / np.maximum(groups[..., 3:], 1e-6)
    return means.reshape(*level.shape[:2], -1)


def _halve(array: np.ndarray) -> np.ndarray:
    """Means of 2x2 cells (an odd last row/column is repeated)."""
    if array.shape[0] % 2:
        array = np.concatenate([array, array[-1:]], axis=0)
    if array.shape[1] % 2:
        array = np.concatenate([array, array[:, -1:]], axis=1)
    halved: np.ndarray = (array[0::2, 0::2] + array[1::2, 0::2] + array[0::2, 1::2] + array[1::2, 1::2]) * 0.25
    return halved


def _enlarge(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear doubling (pixel centres aligned, borders clamped), cut to `shape`."""
    return _double(_double(array, shape[0], axis=0), shape[1], axis=1)


def _double(array: np.ndarray, length: int, axis: int) -> np.ndarray:
    array = np.moveaxis(array, axis, 0)
    before = np.concatenate([array[:1], array[:-1]])
    after = np.concatenate([array[1:], array[-1:]])
    doubled = np.stack([0.75 * array + 0.25 * before, 0.75 * array + 0.25 * after], axis=1)
    return np.moveaxis(doubled.reshape(-1, *array.shape[1:])[:length], 0, axis)


def _shrink(mask: np.ndarray, cells: int) -> np.ndarray:
    """The mask minus `cells` cells along its border (3x3 erosion, repeated)."""
    height, width = mask.shape
    for _ in range(cells):
        padded = np.pad(mask, 1, mode="edge")
        mask = np.logical_and.reduce([padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)])
    return mask
