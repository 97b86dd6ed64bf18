"""Failures inside the pure pipeline are the input's: refused with a code, except MemoryError."""

from __future__ import annotations

import struct

import pytest

from function.errors import ErrorCode, ImageUndecodable, InvalidOption, ServiceError
from function.imaging.failures import processing, refused_on_failure


def undecodable() -> ImageUndecodable:
    return ImageUndecodable("corrupt")


@pytest.mark.parametrize(
    "raised",
    [
        struct.error("x"),
        TypeError("x"),
        KeyError("x"),
        AttributeError("x"),
        IndexError("x"),
        ZeroDivisionError("x"),
        RecursionError("x"),
        OSError("x"),
    ],
)
def test_whatever_a_library_raises_becomes_the_refusal(raised):
    with pytest.raises(ServiceError) as refused, refused_on_failure("decoding", undecodable):
        raise raised

    assert refused.value.code == ErrorCode.IMAGE_UNDECODABLE and isinstance(refused.value.__cause__, type(raised))


def test_an_already_classified_refusal_keeps_its_code():
    with pytest.raises(InvalidOption), refused_on_failure("decoding", undecodable):
        raise InvalidOption("x", code=ErrorCode.CROP_MARGIN_TOO_LARGE)


def test_running_out_of_memory_is_not_the_callers_fault():
    with pytest.raises(MemoryError), refused_on_failure("decoding", undecodable):
        raise MemoryError


def test_a_step_after_decoding_is_refused_as_unprocessable_and_logged_with_its_traceback(caplog):
    with pytest.raises(ServiceError) as refused, processing("encoding"):
        raise ValueError("libwebp said no")

    assert refused.value.code == ErrorCode.IMAGE_UNPROCESSABLE and refused.value.status == 422
    assert "encoding failed on this input: ValueError: libwebp said no" in caplog.text
    assert caplog.records[-1].levelname == "WARNING" and caplog.records[-1].exc_info
