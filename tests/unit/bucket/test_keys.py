"""The keys the pipeline derives: an output mirrors its input's path with the output's extension."""

import pytest

from function.bucket.keys import output_key_for_input


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
