"""Options arrive as text (query strings, S3 metadata) and are validated by one parser."""

import pytest

from function.errors import ErrorCode, InvalidOption
from function.imaging.options import Margin, RemovalOptions, parse_bgcolor, parse_margin


def test_bgcolor_parsing():
    assert parse_bgcolor("ff0000") == (255, 0, 0, 255)
    assert parse_bgcolor("#00ff0080") == (0, 255, 0, 128)
    for bad in ("red", "fff", "ff00000", "gg0000", " ffffff"):
        with pytest.raises(InvalidOption) as refused:
            parse_bgcolor(bad)
        assert refused.value.code is ErrorCode.INVALID_BGCOLOR


def test_margin_in_pixels_or_percent_of_the_subject():
    assert parse_margin("30") == parse_margin("30px") == Margin(30)
    assert parse_margin("10%").pixels(250) == 25
    for bad in ("101%", "-5", "5em", "99999", " 5"):
        with pytest.raises(InvalidOption) as refused:
            parse_margin(bad)
        assert refused.value.code is ErrorCode.INVALID_CROP_MARGIN


def test_only_formats_the_service_can_write():
    with pytest.raises(InvalidOption) as refused:
        RemovalOptions(format="gif")
    assert refused.value.status == 422 and refused.value.code is ErrorCode.INVALID_FORMAT
