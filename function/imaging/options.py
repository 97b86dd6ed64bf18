"""What a caller may ask of the pipeline, and the parsing of those options from text.

Text parsing lives here, not in the HTTP layer, because query strings and S3 object metadata
carry the same options and must be validated by the same code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from function.errors import ErrorCode, InvalidOption

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp"}
# Matched whole (fullmatch) and ASCII only, exactly as the OpenAPI patterns read: "ffffff\n" or
# Arabic-Indic digits must not pass here when the documented pattern refuses them.
HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
MARGIN = re.compile(r"([0-9]{1,4})(px|%)?")
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
# Spelled as pydantic (and so FastAPI) reads booleans, so no client that used to work is refused.
TRUE, FALSE = {"true", "1", "yes", "on", "t", "y"}, {"false", "0", "no", "off", "f", "n"}
# Inclusive ranges of the numeric options. scale stops at the longest side an input may have.
SCALE_RANGE = (16, 16383)
THRESHOLD_RANGE = (0, 255)
ERODE_RANGE = (0, 40)
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

    def __post_init__(self) -> None:
        if self.format not in CONTENT_TYPES:
            raise InvalidOption(
                f"format must be one of {', '.join(CONTENT_TYPES)}, not {self.format!r}", code=ErrorCode.INVALID_FORMAT
            )


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

    knobs = {
        field: parse_int(name, values[name], allowed)
        for name, (field, allowed) in MATTING_FIELDS.items()
        if name in values
    }
    # HTML forms send an untouched field empty: an empty colour or margin means none.
    bgcolor, margin = values.get("bgcolor"), values.get("crop_margin")
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
    )
