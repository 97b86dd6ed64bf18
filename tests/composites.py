"""Synthetic composites for judging clean edges: a real photo's subject over a saturated background,
with the truth kept (the subject's colours F and its soft alpha A), so a cutout's edge can be scored.

F is the photo itself and A the model's own mask of it, so the soft band is a real one (a cat's fur,
an astronaut's hair). Shared by tests/integration/test_clean_edges.py and benchmarks/edges.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage import data as skdata

from function.imaging.banded import Upscaler

PHOTOS = ("astronaut", "chelsea", "coffee")
BACKGROUNDS = {"green": (0, 255, 0), "magenta": (255, 0, 255), "blue": (0, 64, 255), "orange": (255, 128, 0)}
# The soft band scored: the true alpha strictly between these (of 255, i.e. 0.1 < A < 0.9) ...
SOFT_BAND = (25.5, 229.5)
# ... where the cutout shows the pixel at all: below this alpha its colour is invisible (and the same
# for every method, so counting it would only measure the model's alpha, not the colours).
VISIBLE_ALPHA = 25.5


@dataclass(frozen=True)
class Composite:
    subject: np.ndarray  # F: (h, w, 3) uint8
    alpha: np.ndarray  # A: (h, w) uint8
    background: tuple[int, int, int]
    pixels: np.ndarray  # I = A*F + (1-A)*B, rounded: (h, w, 3) uint8

    def png(self) -> bytes:
        """Lossless, so I holds exactly as composed."""
        buffer = io.BytesIO()
        Image.fromarray(self.pixels).save(buffer, "PNG", compress_level=1)
        return buffer.getvalue()

    def jpeg(self) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(self.pixels).save(buffer, "JPEG", quality=95)
        return buffer.getvalue()

    def resized(self, side: int) -> Composite:
        """The same scene with its longest side `side` px (LANCZOS), composed again at that size."""
        scale = side / max(self.alpha.shape)
        size = (round(self.alpha.shape[1] * scale), round(self.alpha.shape[0] * scale))
        subject = np.asarray(Image.fromarray(self.subject).resize(size, Image.Resampling.LANCZOS))
        alpha = np.asarray(Image.fromarray(self.alpha).resize(size, Image.Resampling.LANCZOS))
        return compose(subject, alpha, self.background)

    def edge_error(self, cutout: np.ndarray, visible_only: bool = True) -> float:
        """Mean |cutout colour - F| over the soft band, in levels of 255 (averaged over R, G, B)."""
        band = (self.alpha > SOFT_BAND[0]) & (self.alpha < SOFT_BAND[1])
        if visible_only:
            band &= cutout[..., 3] >= VISIBLE_ALPHA
        return float(np.abs(cutout[..., :3].astype(np.float32) - self.subject)[band].mean())


def photo(name: str) -> np.ndarray:
    return getattr(skdata, name)()


def subject_alpha(model, subject: np.ndarray) -> np.ndarray:
    """The model's own mask of the photo, at full size: a realistic soft edge."""
    image = Image.fromarray(subject)
    return np.asarray(Upscaler(model.small_mask(image), image.size).full())


def compose(subject: np.ndarray, alpha: np.ndarray, background: tuple[int, int, int]) -> Composite:
    a = alpha[..., np.newaxis].astype(np.float32) / 255
    pixels = a * subject + (1 - a) * np.array(background, np.float32)
    return Composite(subject, alpha, background, np.rint(pixels).astype(np.uint8))


def decoded(body: bytes) -> np.ndarray:
    """A cutout's RGBA pixels."""
    image = Image.open(io.BytesIO(body))
    return np.asarray(image.convert("RGBA"))
