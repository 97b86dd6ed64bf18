"""What a caller may ask of the pipeline, and the parsing of those options from text.

Text parsing lives here, not in the HTTP layer, because query strings and S3 object metadata
carry the same options and must be validated by the same code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from function.errors import ErrorCode, InvalidOption

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}
# What `format` may say: a format, or `auto` (JPEG when the result is opaque, PNG otherwise).
FORMATS = (*CONTENT_TYPES, "auto")
# Matched whole (fullmatch) and ASCII only, exactly as the OpenAPI patterns read: "ffffff\n" or
# Arabic-Indic digits must not pass here when the documented pattern refuses them.
HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
MARGIN = re.compile(r"([0-9]{1,4})(px|%)?")
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
SIGNED_PAIR = re.compile(r"(-?[0-9]{1,5}),(-?[0-9]{1,5})")
CANVAS = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
ROI = re.compile(r"([0-9]{1,5})(px|%)?,([0-9]{1,5})(px|%)?,([0-9]{1,5})(px|%)?,([0-9]{1,5})(px|%)?")
# Text fields whose documented pattern allows empty: an HTML form's untouched field, meaning none.
EMPTY_MEANS_UNSET = frozenset({"bgcolor", "crop_margin", "shadow_offset", "canvas", "margin", "roi"})
# Spelled as pydantic (and so FastAPI) reads booleans, so no client that used to work is refused.
TRUE, FALSE = {"true", "1", "yes", "on", "t", "y"}, {"false", "0", "no", "off", "f", "n"}
# Inclusive ranges of the numeric options. scale stops at the longest side an input may have.
SCALE_RANGE = (16, 16383)
THRESHOLD_RANGE = (0, 255)
ERODE_RANGE = (0, 40)
QUALITY_RANGE = (1, 100)
SHADOW_OPACITY_RANGE = (0, 100)  # percent
SHADOW_BLUR_RANGE = (0, 200)  # pixels of the output
SHADOW_OFFSET_RANGE = (-2000, 2000)
CANVAS_SIDE_RANGE = (1, 16383)
BG_FITS = ("cover", "contain", "stretch")
POSITIONS = ("center", "original")
MATTING_FIELDS = {  # option name -> (Matting field, range)
    "alpha_matting_foreground_threshold": ("foreground_threshold", THRESHOLD_RANGE),
    "alpha_matting_background_threshold": ("background_threshold", THRESHOLD_RANGE),
    "alpha_matting_erode_size": ("erode_size", ERODE_RANGE),
}
# Every option a caller may give as text, in the order the docs list them.
OPTION_NAMES = (
    "format",
    "only_mask",
    "bgcolor",
    "crop",
    "crop_margin",
    "scale",
    "alpha_matting",
    *MATTING_FIELDS,
    "decontaminate",
    "post_process_mask",
    "quality",
    "bg_fit",
    "shadow",
    "shadow_opacity",
    "shadow_blur",
    "shadow_offset",
    "canvas",
    "position",
    "margin",
    "upscale",
    "roi",
)


@dataclass(frozen=True)
class Margin:
    """Space kept around the subject when cropping: pixels, or percent of the subject's size."""

    value: int
    percent: bool = False

    def pixels(self, extent: int) -> int:
        return extent * self.value // 100 if self.percent else self.value


@dataclass(frozen=True)
class Matting:
    """rembg's alpha-matting knobs (its defaults): refine soft edges such as hair."""

    foreground_threshold: int = 240
    background_threshold: int = 10
    erode_size: int = 10


@dataclass(frozen=True)
class Shadow:
    """A soft drop shadow cast by the subject's alpha. None values scale with the subject (layers.py)."""

    opacity: int = 50  # percent
    blur: int | None = None  # gaussian radius, output pixels
    offset: tuple[int, int] | None = None  # (x, y), output pixels; + is right and down


@dataclass(frozen=True)
class Canvas:
    """An output of exactly width x height; the picture fitted inside `margin`, placed by `position`."""

    width: int
    height: int
    position: str = "center"  # center: the subject centred; original: the photo's framing kept
    margin: Margin | None = None  # of the canvas's width/height when a percentage
    upscale: bool = False


@dataclass(frozen=True)
class Roi:
    """The region of the photo whose subject is kept; each bound in pixels or percent of the side."""

    bounds: tuple[Margin, Margin, Margin, Margin]  # x1, y1, x2, y2

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        x1, y1, x2, y2 = (bound.pixels(side) for bound, side in zip(self.bounds, (width, height) * 2, strict=True))
        return min(x1, width), min(y1, height), min(x2, width), min(y2, height)


@dataclass(frozen=True)
class RemovalOptions:
    format: str = "png"
    only_mask: bool = False
    bgcolor: tuple[int, int, int, int] | None = None
    crop: bool = False
    crop_margin: Margin | None = None
    scale: int | None = None  # the output's longest side at most this many pixels
    matting: Matting | None = None
    decontaminate: bool = True  # unmix the soft edge's colours from the old background (edges.py)
    post_process_mask: bool = False  # rembg's post_process: a smoothed, hard 0/255 mask
    quality: int | None = None  # jpg/webp quality; None is the format's default
    bg_fit: str = "cover"  # how a background image fills the output
    shadow: Shadow | None = None
    canvas: Canvas | None = None
    roi: Roi | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InvalidOption(
                f"format must be one of {', '.join(FORMATS)}, not {self.format!r}", code=ErrorCode.INVALID_FORMAT
            )
        if self.bg_fit not in BG_FITS:
            raise InvalidOption(f"bg_fit must be one of {', '.join(BG_FITS)}, not {self.bg_fit!r}")

    def delivered_format(self, background_image: bool = False) -> str:
        """The format written: `auto` is JPEG when the result is opaque (an opaque colour or a
        background image under a cutout), PNG otherwise."""
        if self.format != "auto":
            return self.format
        opaque = background_image or (self.bgcolor is not None and self.bgcolor[3] == 255)
        return "jpg" if opaque and not self.only_mask else "png"


def parse_bgcolor(text: str) -> tuple[int, int, int, int]:
    """`RRGGBB` or `RRGGBBAA` (a leading # allowed) -> an RGBA tuple."""
    match = HEX_COLOR.fullmatch(text)
    if not match:
        raise InvalidOption(
            f"bgcolor must be RRGGBB or RRGGBBAA in hex, e.g. ffffff, not {text!r}", code=ErrorCode.INVALID_BGCOLOR
        )
    digits = match.group(1) + ("" if len(match.group(1)) == 8 else "ff")
    return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))  # type: ignore[return-value]


def parse_margin(text: str) -> Margin:
    """`30`, `30px` or `10%` (of the subject's width/height) -> a Margin."""
    match = MARGIN.fullmatch(text)
    if not match or (match.group(2) == "%" and int(match.group(1)) > 100):
        raise InvalidOption(
            f"crop_margin must be pixels (30 or 30px) or a percentage up to 100%, not {text!r}",
            code=ErrorCode.INVALID_CROP_MARGIN,
        )
    return Margin(int(match.group(1)), percent=match.group(2) == "%")


def parse_canvas_margin(text: str) -> Margin:
    """`margin`: space between the subject and the canvas's edges, `40`, `40px` or `5%` (of the canvas)."""
    match = MARGIN.fullmatch(text)
    if not match or (match.group(2) == "%" and int(match.group(1)) >= 50):
        raise InvalidOption(f"margin must be pixels (40 or 40px) or a percentage below 50%, not {text!r}")
    return Margin(int(match.group(1)), percent=match.group(2) == "%")


def parse_canvas(text: str) -> tuple[int, int]:
    match = CANVAS.fullmatch(text)
    low, high = CANVAS_SIDE_RANGE
    if not match or not all(low <= int(side) <= high for side in match.groups()):
        raise InvalidOption(
            f"canvas must be WIDTHxHEIGHT in pixels, each {low} to {high}, e.g. 1000x1000, not {text!r}"
        )
    return int(match.group(1)), int(match.group(2))


def parse_offset(text: str) -> tuple[int, int]:
    match = SIGNED_PAIR.fullmatch(text)
    low, high = SHADOW_OFFSET_RANGE
    if not match or not all(low <= int(value) <= high for value in match.groups()):
        raise InvalidOption(f"shadow_offset must be x,y in pixels, each {low} to {high}, e.g. 10,20, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def parse_roi(text: str) -> Roi:
    """`x1,y1,x2,y2`, each in pixels (`120`, `120px`) or percent of its side (`10%`)."""
    match = ROI.fullmatch(text)
    refusal = InvalidOption(f"roi must be x1,y1,x2,y2 in pixels or percentages (e.g. 10%,0%,90%,100%), not {text!r}")
    if not match:
        raise refusal
    values = match.groups()
    bounds = tuple(Margin(int(values[i]), percent=values[i + 1] == "%") for i in range(0, 8, 2))
    if any(bound.percent and bound.value > 100 for bound in bounds):
        raise refusal
    x1, y1, x2, y2 = bounds
    for low, high in ((x1, x2), (y1, y2)):  # comparable only in the same unit; the box is checked again in pixels
        if low.percent == high.percent and low.value >= high.value:
            raise InvalidOption(f"roi must have x1 < x2 and y1 < y2, not {text!r}")
    return Roi(bounds)  # type: ignore[arg-type]


def parse_bool(name: str, text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise InvalidOption(f"{name} must be true or false, not {text!r}")


def parse_int(name: str, text: str, allowed: tuple[int, int]) -> int:
    low, high = allowed
    if not WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise InvalidOption(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def options_from_text(values: Mapping[str, str]) -> RemovalOptions:
    """The options in `values` (a query string, an S3 object's metadata), validated: the one
    parser both entry points use. Names that are not options are left to the caller."""

    def flag(name: str) -> bool:
        return name in values and parse_bool(name, values[name])

    def number(name: str, allowed: tuple[int, int]) -> int | None:
        return parse_int(name, values[name], allowed) if name in values else None

    def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = values.get(name, default)
        if value not in allowed:
            raise InvalidOption(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def given(name: str) -> bool:
        # HTML forms send an untouched text field empty: where the schema lets a field be empty (a colour,
        # a margin, an offset, a canvas, a region), empty means not given; a number, flag or choice must be one.
        return bool(values.get(name)) if name in EMPTY_MEANS_UNSET else name in values

    def needs(name: str, needed: str, present: bool) -> None:
        if given(name) and not present:
            raise InvalidOption(f"{name} applies only with {needed}")

    knobs = {
        field: parse_int(name, values[name], allowed)
        for name, (field, allowed) in MATTING_FIELDS.items()
        if name in values
    }
    bgcolor, margin = values.get("bgcolor"), values.get("crop_margin")
    shadow = None
    if flag("shadow"):
        offset = values.get("shadow_offset")
        shadow = Shadow(
            opacity=Shadow.opacity if (opacity := number("shadow_opacity", SHADOW_OPACITY_RANGE)) is None else opacity,
            blur=number("shadow_blur", SHADOW_BLUR_RANGE),
            offset=parse_offset(offset) if offset else None,
        )
    for name in ("shadow_opacity", "shadow_blur", "shadow_offset"):
        needs(name, "shadow=true", shadow is not None)
    canvas = None
    if values.get("canvas"):
        canvas_margin = values.get("margin")
        canvas = Canvas(
            *parse_canvas(values["canvas"]),
            position=choice("position", POSITIONS, "center"),
            margin=parse_canvas_margin(canvas_margin) if canvas_margin else None,
            upscale=flag("upscale"),
        )
    for name in ("position", "margin", "upscale"):
        needs(name, "canvas", canvas is not None)
    roi = values.get("roi")
    return RemovalOptions(
        format=values.get("format", "png"),
        only_mask=flag("only_mask"),
        bgcolor=parse_bgcolor(bgcolor) if bgcolor else None,
        crop=flag("crop"),
        crop_margin=parse_margin(margin) if margin else None,
        scale=number("scale", SCALE_RANGE),
        matting=Matting(**knobs) if flag("alpha_matting") else None,
        decontaminate=parse_bool("decontaminate", values["decontaminate"]) if "decontaminate" in values else True,
        post_process_mask=flag("post_process_mask"),
        quality=number("quality", QUALITY_RANGE),
        bg_fit=choice("bg_fit", BG_FITS, "cover"),
        shadow=shadow,
        canvas=canvas,
        roi=parse_roi(roi) if roi else None,
    )
