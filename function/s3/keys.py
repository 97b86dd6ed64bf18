"""Which S3 keys the service may read and write. Pure string rules, shared by both paths.

The invariant behind all of them: nothing is ever written under the input prefix (that
would re-trigger the S3 function) and nothing outside the output/failed prefixes.
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid

from function.errors import KeyNotAllowed

MAX_KEY_BYTES = 1024  # S3's own limit


def _check_segments(key: str, what: str) -> None:
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyNotAllowed(f"{what} must be 1 to {MAX_KEY_BYTES} bytes of UTF-8")
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        raise KeyNotAllowed(f"{what} must not contain control characters")
    if key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise KeyNotAllowed(f"{what} must be a relative path without empty, '.' or '..' segments")


def output_key_for_request(requested: str, output_prefix: str, input_prefix: str) -> str:
    """A caller's `output_key` -> the key we write. Relative keys go under the output prefix."""
    _check_segments(requested, "output_key")
    key = requested if requested.startswith(output_prefix) else output_prefix + requested
    if key.startswith(input_prefix) or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyNotAllowed(f"output_key must land under {output_prefix!r}, never under {input_prefix!r}")
    return key


def input_key_for_request(requested: str, input_prefix: str) -> str:
    """A caller's `image_key` -> the key we read: only objects under the input prefix."""
    _check_segments(requested, "image_key")
    key = requested if requested.startswith(input_prefix) else input_prefix + requested
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyNotAllowed("image_key is too long")
    return key


def generated_output_key(output_prefix: str, fmt: str) -> str:
    """Where a result too large for a Lambda response is parked for a presigned download."""
    return f"{output_prefix}results/{uuid.uuid4().hex}.{fmt}"


def output_key_for_input(input_key: str, input_prefix: str, output_prefix: str, fmt: str) -> str:
    """`input/a/b c.jpg` -> `output/a/b c.png`: same relative path, the output's extension."""
    relative = input_key[len(input_prefix) :]
    stem, _ = posixpath.splitext(relative)
    if not stem or stem.endswith("/"):  # e.g. "input/.jpg": keep the name whole
        stem = relative
    return fit_key(output_prefix, stem, f".{fmt}")


def report_key_for_input(input_key: str, input_prefix: str, failed_prefix: str) -> str:
    """`input/a/b.jpg` -> `failed/a/b.jpg.json`: why that input produced no output."""
    return fit_key(failed_prefix, input_key[len(input_prefix) :], ".json")


def fit_key(prefix: str, relative: str, suffix: str) -> str:
    """prefix + relative + suffix, shortened (stem + hash) only if it would pass S3's 1,024 bytes.

    Outputs and reports live under prefixes that may be longer than the input prefix, so a
    maximal input key would otherwise have no valid output key at all.
    """
    key = f"{prefix}{relative}{suffix}"
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    tag = "~" + hashlib.sha256(relative.encode("utf-8")).hexdigest()[:16]
    room = MAX_KEY_BYTES - len(f"{prefix}{tag}{suffix}".encode())
    stem = relative.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return f"{prefix}{stem}{tag}{suffix}"
