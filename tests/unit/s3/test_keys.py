"""Which keys the service reads and writes: never under input/ when writing, never outside its prefixes."""

import pytest

from function.errors import KeyNotAllowed
from function.s3.keys import input_key_for_request, output_key_for_input, output_key_for_request


@pytest.mark.parametrize(
    "requested, expected",
    [("me.png", "output/me.png"), ("output/me.png", "output/me.png"), ("a/b c/é.webp", "output/a/b c/é.webp")],
)
def test_output_keys_land_under_the_output_prefix(requested, expected):
    assert output_key_for_request(requested, "output/", "input/") == expected


@pytest.mark.parametrize("requested", ["", "../x", "a/../../x", "/abs", "a//b", "./a", "a\nb", "x" * 1020])
def test_output_keys_that_could_escape_are_refused(requested):
    with pytest.raises(KeyNotAllowed):
        output_key_for_request(requested, "output/", "input/")


def test_output_key_under_the_input_prefix_is_refused_even_when_prefixes_nest():
    with pytest.raises(KeyNotAllowed):
        output_key_for_request("x.png", "input/", "input/")


def test_input_keys_are_confined_to_the_input_prefix():
    assert input_key_for_request("a.jpg", "input/") == "input/a.jpg"
    assert input_key_for_request("input/a.jpg", "input/") == "input/a.jpg"
    with pytest.raises(KeyNotAllowed):
        input_key_for_request("../output/a.png", "input/")


@pytest.mark.parametrize(
    "key, expected",
    [
        ("input/a/b c.jpg", "output/a/b c.png"),
        ("input/photo.JPEG", "output/photo.png"),
        ("input/no-extension", "output/no-extension.png"),
        ("input/.hidden", "output/.hidden.png"),
        ("input/dots.in.name.webp", "output/dots.in.name.png"),
    ],
)
def test_s3_outputs_mirror_the_input_path(key, expected):
    assert output_key_for_input(key, "input/", "output/", "png") == expected
