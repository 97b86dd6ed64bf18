"""What an HTTP caller may reach in the bucket: their folder, and the keys they may name.

The HTTP API writes only under the results prefix, so it can never touch the pipeline's outputs,
and a caller confined to a folder (a JWT caller's namespace) has no spelling of a key that leaves it.
"""

from __future__ import annotations

import unicodedata
import uuid

from function.bucket.keys import MAX_KEY_BYTES, check_key
from function.errors import ErrorCode, KeyNotAllowed, ServiceError


def caller_folder(caller_id: str) -> str:
    """A JWT caller's namespace, `<sub>/`: the one folder under each prefix that is theirs."""
    refusal = f"the token's sub {caller_id!r} cannot name a folder"
    try:
        check_key(caller_id, "the token's sub")
    except KeyNotAllowed as error:
        raise ServiceError(refusal, code=ErrorCode.CALLER_NOT_ALLOWED) from error
    if "/" in caller_id or "/" in unicodedata.normalize("NFKC", caller_id):
        raise ServiceError(refusal, code=ErrorCode.CALLER_NOT_ALLOWED)
    return caller_id + "/"


def _under(requested: str, base: str, what: str) -> str:
    check_key(requested, what)
    key = requested if requested.startswith(base) else base + requested
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise KeyNotAllowed(f"{what} is too long once under {base!r}")
    return key


def output_key_for_request(requested: str, results_prefix: str, input_prefix: str, folder: str = "") -> str:
    """A caller's `output_key` -> the key we write: under the results prefix (and the caller's folder)."""
    key = _under(requested, results_prefix + folder, "output_key")
    if key.startswith(input_prefix):
        raise KeyNotAllowed(f"output_key must land under {results_prefix!r}, never under {input_prefix!r}")
    return key


def input_key_for_request(requested: str, input_prefix: str, folder: str = "") -> str:
    """A caller's `image_key` -> the key we read: only objects under the input prefix (and the caller's folder)."""
    return _under(requested, input_prefix + folder, "image_key")


def generated_result_key(results_prefix: str, folder: str, fmt: str) -> str:
    """Where a result too large for a Lambda response is parked for a presigned download: unguessable."""
    return f"{results_prefix}{folder}{uuid.uuid4().hex}.{fmt}"
