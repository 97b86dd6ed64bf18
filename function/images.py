"""Decoding rules for untrusted image bytes: which formats, how big, which modes. Pure.

`Image.open` is lazy: it reads only the header, so the pixel cap is enforced before a
single pixel is decoded. Everything that comes out is upright (EXIF applied) and in RGB or
RGBA, which is all the model and the compositor need to handle.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageUndecodable, InputTooLarge, UnsupportedMediaType

# Checked by content (Pillow's format sniffing), never by file name or Content-Type.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int
    max_pixels: int


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    if not data:
        raise ImageUndecodable("the image is empty (0 bytes)", code="image_empty")
    if len(data) > limits.max_bytes:
        raise InputTooLarge(f"the image is {len(data)} bytes; the limit is {limits.max_bytes}")
    with warnings.catch_warnings():
        # Pillow only warns between its own cap and twice it; our cap below is the real one,
        # so a warning here must not slip through as a silent success.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except UnidentifiedImageError as exc:
            raise UnsupportedMediaType(
                f"not an image in an accepted format ({', '.join(ACCEPTED_FORMATS)})"
            ) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputTooLarge("the image has too many pixels", code="image_too_many_pixels") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageUndecodable("the image header is corrupt") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageUndecodable("the image has no pixels")
    if width * height > limits.max_pixels:
        raise InputTooLarge(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} MP); "
            f"the limit is {limits.max_pixels / 1e6:g} MP",
            code="image_too_many_pixels",
        )
    return image


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit greyscale: scale to 8 bits rather than clip (convert("L") would clip
        # everything above 255 to white).
        peak = 65535 if image.mode.startswith("I;16") else max(image.getextrema()[1], 1)
        image = image.point(lambda value: value * (255 / peak)).convert("L")
    has_alpha = image.mode in ("LA", "PA", "La", "RGBa") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def decode_image(data: bytes, limits: DecodeLimits) -> Image.Image:
    """Bytes -> an upright RGB/RGBA image, or a ServiceError saying why not."""
    image = _open(data, limits)
    try:
        # Animated GIF/WebP/PNG: the first frame only (image.seek(0) is where Image.open left it).
        image.load()
        image = ImageOps.exif_transpose(image)
        return _to_rgb_or_rgba(image)
    except OSError as exc:
        # Truncated files raise here; refusing beats returning a half-grey picture.
        raise ImageUndecodable(f"the image data is corrupt or truncated ({exc})") from exc
    except (ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageUndecodable("the image data is corrupt") from exc
