"""Which keys an HTTP caller may name: never under input/ when writing, never outside the
service's prefixes, and never outside the caller's own folder, however the key is spelled."""

import unicodedata

import pytest

from function.errors import ErrorCode, KeyNotAllowed, ServiceError
from function.http.callers import (
    caller_folder,
    generated_result_key,
    input_key_for_request,
    output_key_for_request,
)


@pytest.mark.parametrize(
    "requested, expected",
    [
        ("me.png", "results/me.png"),
        ("results/me.png", "results/me.png"),
        ("a/b c/é.webp", "results/a/b c/é.webp"),
        ("output/me.png", "results/output/me.png"),
    ],  # a pipeline output's name is just a folder name here
)
def test_output_keys_land_under_the_results_prefix(requested, expected):
    assert output_key_for_request(requested, "results/", "input/") == expected


@pytest.mark.parametrize("requested", ["", "../x", "a/../../x", "/abs", "a//b", "./a", "a\nb", "x" * 1020])
def test_output_keys_that_could_escape_are_refused(requested):
    with pytest.raises(KeyNotAllowed):
        output_key_for_request(requested, "results/", "input/")


def test_output_key_under_the_input_prefix_is_refused_even_when_prefixes_nest():
    with pytest.raises(KeyNotAllowed):
        output_key_for_request("x.png", "input/", "input/")


def test_input_keys_are_confined_to_the_input_prefix():
    assert input_key_for_request("a.jpg", "input/") == "input/a.jpg"
    assert input_key_for_request("input/a.jpg", "input/") == "input/a.jpg"
    with pytest.raises(KeyNotAllowed):
        input_key_for_request("../output/a.png", "input/")


INVISIBLE = ["\x00", "\x1f", "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\ufeff", "\u200b", "\u00ad", "\u2066"]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}-{unicodedata.category(c)}")
def test_control_format_and_line_separator_characters_are_refused_in_any_key(char):
    for make in (
        lambda k: input_key_for_request(k, "input/"),
        lambda k: output_key_for_request(k, "results/", "input/"),
    ):
        with pytest.raises(KeyNotAllowed) as refused:
            make(f"holiday{char}photo.png")
        assert refused.value.code is ErrorCode.KEY_NOT_ALLOWED


def test_ordinary_unicode_names_are_kept():
    for name in ("фото 写真.png", "café.png", "日本語.png", "emoji 📷.png"):
        assert output_key_for_request(name, "results/", "input/") == "results/" + name


@pytest.mark.parametrize(
    "requested",
    [
        "\N{FULLWIDTH FULL STOP}\N{FULLWIDTH FULL STOP}/x.png",
        "a/\N{FULLWIDTH FULL STOP}\N{FULLWIDTH FULL STOP}/b.png",
        "\N{FULLWIDTH FULL STOP}/x.png",
        "a\N{FULLWIDTH SOLIDUS}\N{FULLWIDTH FULL STOP}\N{FULLWIDTH FULL STOP}\N{FULLWIDTH SOLIDUS}b.png",
        "\uff0e\uff0e\uff0fbob/x.png",
    ],
)
def test_keys_a_unicode_normalising_tool_would_read_as_an_escape_are_refused(requested):
    with pytest.raises(KeyNotAllowed):
        input_key_for_request(requested, "input/", "alice/")


# Spellings a caller might try to reach another caller's folder: each is refused, or stays in its own.
ESCAPES = [
    "../bob/x.jpg",
    "/bob/x.jpg",
    "bob/../../bob/x.jpg",
    "./../bob/x.jpg",
    "input/bob/x.jpg",
    "input/alice/../bob/x.jpg",
    "..%2Fbob%2Fx.jpg",
    "%2E%2E/bob/x.jpg",
    "..%252Fbob/x.jpg",
    "..\\bob\\x.jpg",
    "..\N{DIVISION SLASH}bob\N{DIVISION SLASH}x.jpg",
    "..\N{FRACTION SLASH}bob\N{FRACTION SLASH}x.jpg",
    "\N{FULLWIDTH FULL STOP}\N{FULLWIDTH FULL STOP}/bob/x.jpg",
    "..\N{FULLWIDTH SOLIDUS}bob\N{FULLWIDTH SOLIDUS}x.jpg",
    "\u202e../bob/x.jpg",
    "//bob/x.jpg",
    "bob/x.jpg",
]


@pytest.mark.parametrize("requested", ESCAPES)
def test_no_spelling_of_a_key_leaves_the_callers_folder(requested):
    for make, base in (
        (lambda k: input_key_for_request(k, "input/", "alice/"), "input/alice/"),
        (lambda k: output_key_for_request(k, "results/", "input/", "alice/"), "results/alice/"),
    ):
        try:
            key = make(requested)
        except KeyNotAllowed:
            continue
        assert key.startswith(base)
        relative = unicodedata.normalize("NFKC", key[len(base) :])
        assert ".." not in relative.split("/") and not relative.startswith("/")


def test_a_callers_own_full_key_is_accepted():
    assert input_key_for_request("input/alice/x.jpg", "input/", "alice/") == "input/alice/x.jpg"
    assert output_key_for_request("results/alice/x.png", "results/", "input/", "alice/") == "results/alice/x.png"


@pytest.mark.parametrize(
    "sub", ["0f3c6a1e-7b7d-4a53-9c61-1a2b3c4d5e6f", "auth0|5f1a2b", "google-oauth2|1234567890", "ünï"]
)
def test_a_jwt_subject_names_its_folder(sub):
    assert caller_folder(sub) == sub + "/"


@pytest.mark.parametrize(
    "sub",
    [
        "",
        ".",
        "..",
        "a/b",
        "/a",
        "a/",
        "\N{FULLWIDTH FULL STOP}\N{FULLWIDTH FULL STOP}",
        "a\N{FULLWIDTH SOLIDUS}b",
        "\u202eab",
        "a\nb",
        "x" * 1100,
    ],
)
def test_a_subject_that_cannot_name_a_folder_is_refused(sub):
    with pytest.raises(ServiceError) as refused:
        caller_folder(sub)
    assert refused.value.code is ErrorCode.CALLER_NOT_ALLOWED


def test_large_results_are_parked_under_unguessable_keys_in_the_callers_folder():
    first, second = generated_result_key("results/", "alice/", "png"), generated_result_key("results/", "alice/", "png")

    assert first != second and first.startswith("results/alice/") and first.endswith(".png")
    assert len(first.removeprefix("results/alice/").removesuffix(".png")) == 32  # 128 random bits, hex
