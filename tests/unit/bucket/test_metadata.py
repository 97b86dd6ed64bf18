"""An S3 object's user metadata carries the same options as the API's query string."""

import pytest

from function.bucket.metadata import metadata_value, requested_in
from function.errors import ErrorCode, InvalidOption
from function.imaging.options import RemovalOptions


def test_options_and_model_are_read_from_metadata_and_the_rest_is_left_alone():
    requested = requested_in({"format": "webp", "only-mask": "true", "model": "u2netp", "mtime": "1764072000"})

    assert requested.options == RemovalOptions(format="webp", only_mask=True)
    assert requested.model == "u2netp"
    assert requested.tag == metadata_value("format=webp,only_mask=true,model=u2netp")


def test_the_tag_is_the_same_for_the_same_options_and_empty_without_any():
    assert (
        requested_in({"bgcolor": "ffffff", "format": "png"}).tag
        == requested_in({"format": "png", "bgcolor": "ffffff"}).tag
    )
    assert requested_in({"mtime": "1"}) == requested_in({}) and requested_in({}).tag == ""
    assert requested_in({"model": ""}).model is None


def test_a_refusal_says_it_came_from_the_metadata():
    with pytest.raises(InvalidOption) as refused:
        requested_in({"format": "gif"})

    assert refused.value.code is ErrorCode.INVALID_FORMAT
    assert refused.value.message.startswith("object metadata: format")


def test_long_metadata_values_are_hashed_to_fit_s3s_2_kb():
    assert metadata_value("a b") == "a%20b"
    assert metadata_value("ф" * 300).startswith("sha256:") and len(metadata_value("ф" * 300)) < 80
