"""Which S3 keys the service reads and writes. Pure string rules, shared by both sides.

The invariants behind all of them: nothing is ever written under the input prefix (that would
re-trigger the S3 function), and every key we build or accept is one S3 and the tools around it
read the same way. What an HTTP caller may name lives in function/http/callers.py.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import secrets
import unicodedata

from function.errors import KeyNotAllowed

MAX_KEY_BYTES = 1024  # S3's own limit
# Control, format (bidi overrides, zero-width, BOM), line and paragraph separators: invisible or
# line-breaking in every console and log that shows a key. Surrogates cannot be UTF-8 at all.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _check_segments(key: str, what: str) -> None:
    if key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise KeyNotAllowed(f"{what} must be a relative path without empty, '.' or '..' segments")


def check_key(key: str, what: str) -> None:
    """Refuse a key S3 or the tools around it could read two ways (or not at all)."""
    if any(unicodedata.category(char) in REFUSED_CATEGORIES for char in key):
        raise KeyNotAllowed(f"{what} must not contain control, format or line-separator characters")
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyNotAllowed(f"{what} must be 1 to {MAX_KEY_BYTES} bytes of UTF-8")
    _check_segments(key, what)
    # S3 compares keys byte for byte, but a tool that normalises Unicode (NFKC) would read
    # fullwidth full stops and solidus as "../": such keys are refused too.
    _check_segments(unicodedata.normalize("NFKC", key), what)


UPLOADS_FOLDER = "uploads/"  # where presigned uploads land, inside the caller's folder
JOB_ID = re.compile(r"[0-9a-f]{32}")
# The longest name the service makes inside a caller's folder: a job's report, `uploads/<id>.json`.
FOLDER_KEY_ROOM = len(UPLOADS_FOLDER) + 32 + len(".json")
UPLOAD_RELATIVE = re.compile(rf"(?:[^/]+/)?{UPLOADS_FOLDER}{JOB_ID.pattern}")


def new_job_id() -> str:
    """128 random bits: a job id is its own capability, so it must not be guessable."""
    return secrets.token_hex(16)


def upload_key(input_prefix: str, folder: str, job_id: str) -> str:
    """`input/<folder>uploads/<id>`: no extension, so the output is `output/<folder>uploads/<id>.<format>`."""
    if not JOB_ID.fullmatch(job_id):
        raise ValueError("a job id is 32 lower-case hex digits")
    return f"{input_prefix}{folder}{UPLOADS_FOLDER}{job_id}"


def is_upload_key(key: str, input_prefix: str) -> bool:
    """Whether `key` is where a POST /uploads ticket lands: `input/[<folder>/]uploads/<id>`."""
    relative = key[len(input_prefix) :] if key.startswith(input_prefix) else None
    return relative is not None and UPLOAD_RELATIVE.fullmatch(relative) is not None


def has_dot_segments(relative: str) -> bool:
    """Whether a path has empty, '.' or '..' segments (`a//b`, `./x`, `../x`), as written or once NFKC-normalised."""
    try:
        _check_segments(relative, "the key")
        _check_segments(unicodedata.normalize("NFKC", relative), "the key")
    except KeyNotAllowed:
        return True
    return False


def background_key_for_input(requested: str, input_key: str, input_prefix: str) -> str:
    """An input's `bg-image-key` -> the key read: inside the input's namespace, which is a presigned
    upload's caller folder (`input/<folder>uploads/<id>`), else the whole input prefix (whoever may
    drop objects there may name any of them)."""
    relative = input_key[len(input_prefix) :]
    folder, _, name = relative.rpartition(UPLOADS_FOLDER)
    if not (JOB_ID.fullmatch(name) and (not folder or folder.endswith("/"))):
        folder = ""
    check_key(requested, "bg-image-key")
    base = input_prefix + folder
    key = requested if requested.startswith(base) else base + requested
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyNotAllowed(f"bg-image-key is too long once under {base!r}")
    return key


def output_key_for_input(input_key: str, input_prefix: str, output_prefix: str, fmt: str) -> str:
    """`input/a/b c.jpg` -> `output/a/b c.png`: same relative path, the output's extension.

    A key with dot or empty segments (`input/../x`) gets none: S3 takes it literally, but any tool
    that resolves paths would read its output as somewhere else."""
    relative = input_key[len(input_prefix) :]
    if has_dot_segments(relative):
        raise KeyNotAllowed(f"{input_key!r} has empty, '.' or '..' segments; rename it to get an output")
    stem, _ = posixpath.splitext(relative)
    if not stem or stem.endswith("/"):  # e.g. "input/.jpg": keep the name whole
        stem = relative
    return fit_key(output_prefix, stem, f".{fmt}")


def report_key_for_input(input_key: str, input_prefix: str, failed_prefix: str) -> str:
    """`input/a/b.jpg` -> `failed/a/b.jpg.json`: why that input produced no output. A key with dot
    segments is reported as `failed/~<hash>.json` (the report names the key), never under its own path."""
    relative = input_key[len(input_prefix) :]
    if has_dot_segments(relative):
        relative = "~" + hashlib.sha256(relative.encode("utf-8")).hexdigest()[:32]
    return fit_key(failed_prefix, relative, ".json")


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
