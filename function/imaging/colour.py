"""Colour rules for decoded images: every mode and profile in, 8-bit sRGB RGB or RGBA out. Pure.

ICC decision: an embedded profile is *respected* (converted to sRGB with Pillow's ImageCms).
The output PNG/WebP carries no profile, so viewers read it as sRGB; dropping the profile
would wash out Display-P3 phone photos and print CMYK files with their own profile. The
conversion costs about as much as the decode (docs/performance.md, ICC profiles), and transforms are
cached per profile. Profiles that already say "sRGB" are skipped (nothing to do).
A profile that is broken, huge or does not fit the image's mode is dropped (the pixels are
then taken as sRGB): a bad profile is no reason to refuse a photo.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict

import numpy as np
from PIL import Image, ImageCms

from function.errors import UnsupportedMediaType

logger = logging.getLogger(__name__)

GREY_MODES = {"1", "L", "LA", "La"}
ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}
# Real profiles are a few KB (matrix) to ~2 MB (CMYK lookup tables); past this, building a
# transform is more CPU than a photo deserves.
MAX_ICC_BYTES = 4 * 1024 * 1024
# Which Pillow mode a profile's colour space describes.
PROFILE_MODES = {"RGB ": "RGB", "CMYK": "CMYK", "GRAY": "L"}

BAND_PIXELS = 1 << 20

_SRGB = ImageCms.createProfile("sRGB")
_TRANSFORMS: OrderedDict[tuple[bytes, str], ImageCms.ImageCmsTransform | None] = OrderedDict()
_TRANSFORM_CACHE_SIZE = 16
_TRANSFORMS_LOCK = threading.Lock()


def _eight_bit(image: Image.Image) -> Image.Image:
    if image.mode in SIXTEEN_BIT or image.mode == "I":
        # 16-bit greyscale: scale 0..65535 to 0..255 (convert("L") would clip at 255, so a
        # mid-grey would come out white). Mode "I" is how some decoders hand over 16-bit data.
        # In bands of rows: a whole-picture int64 copy would be 8 bytes a pixel.
        grey = np.empty((image.height, image.width), np.uint8)
        rows = max(1, BAND_PIXELS // image.width)
        for top in range(0, image.height, rows):
            band = np.asarray(image.crop((0, top, image.width, min(image.height, top + rows))), dtype=np.int64)
            grey[top : top + len(band)] = (np.clip(band, 0, 65535) + 128) // 257
        return Image.fromarray(grey, "L")
    if image.mode == "F":
        # Float data has no agreed range; Pillow's clip to 0..255 is as good a guess as any.
        return image.convert("L")
    return image


def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached transform from `icc` to sRGB for `mode` images; None when nothing to do."""
    key = (hashlib.sha256(icc).digest(), mode)
    with _TRANSFORMS_LOCK:  # the local server decodes in threads; an eviction mid-lookup would KeyError
        if key in _TRANSFORMS:
            _TRANSFORMS.move_to_end(key)
            return _TRANSFORMS[key]
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    transform = None
    if PROFILE_MODES.get(profile.profile.xcolor_space) != mode:
        logger.info("ignoring an ICC profile for %r on a %s image", profile.profile.xcolor_space, mode)
    elif not (profile.profile.profile_description or "").strip().lower().startswith("srgb"):
        # NOCACHE: lcms' one-pixel cache is shared state, and the local server decodes in threads.
        transform = ImageCms.buildTransform(profile, _SRGB, mode, "RGB", flags=ImageCms.Flags.NOCACHE)
    with _TRANSFORMS_LOCK:
        _TRANSFORMS[key] = transform
        if len(_TRANSFORMS) > _TRANSFORM_CACHE_SIZE:
            _TRANSFORMS.popitem(last=False)
    return transform


def icc_to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image | None:
    """`image` (L, RGB or CMYK) converted to sRGB RGB by its profile, or None to fall back."""
    if not icc or len(icc) > MAX_ICC_BYTES:
        return None
    try:
        transform = _transform(icc, image.mode)
        return ImageCms.applyTransform(image, transform) if transform else None
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        logger.info("dropping an unusable ICC profile: %s", exc)
        return None


def _as(image: Image.Image, mode: str) -> Image.Image:
    # Pillow's convert() to the mode an image already has still copies it (150 MB at 50 MP).
    return image if image.mode == mode else image.convert(mode)


def to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    image = _eight_bit(image)
    grey = image.mode in GREY_MODES
    alpha = None
    try:
        if image.mode in ALPHA_MODES or "transparency" in image.info:
            # convert("RGBA") applies palette alpha and tRNS colour keys, and un-premultiplies.
            image = _as(image, "RGBA")
            if not icc:
                return image
            alpha = image.getchannel("A")
        if image.mode != "CMYK":
            image = _as(image, "L" if grey else "RGB")
        # CMYK: Pillow's JPEG decoder has already undone Adobe's inverted CMYK.
        rgb = icc_to_srgb(image, icc) or _as(image, "RGB")
    except ValueError as exc:  # e.g. TIFF LAB or other modes Pillow cannot convert
        raise UnsupportedMediaType(f"images in colour mode {image.mode} are not supported") from exc
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb
