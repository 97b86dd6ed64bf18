"""What an HTTP caller may reach in the bucket: their folder, and the keys they may name.

The HTTP API writes only under the results prefix, so it can never touch the pipeline's outputs,
and a caller confined to a folder (a JWT caller's namespace) has no spelling of a key that leaves it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

from function.bucket.keys import FOLDER_KEY_ROOM, MAX_KEY_BYTES, check_key
from function.errors import ErrorCode, KeyNotAllowed, ServiceError


def caller_folder(caller_id: str, longest_prefix: str = "") -> str:
    """A JWT caller's namespace, `<sub>/`: the one folder under each prefix that is theirs.

    Refused when the keys the service makes in it (`<longest_prefix><sub>/uploads/<id>.json`)
    would pass S3's 1,024 bytes: S3 would refuse them, long after the request was accepted."""
    refusal = f"the token's sub {caller_id[:64]!r} cannot name a folder"
    try:
        check_key(caller_id, "the token's sub")
    except KeyNotAllowed as error:
        raise ServiceError(refusal, code=ErrorCode.CALLER_NOT_ALLOWED) from error
    if "/" in caller_id or "/" in unicodedata.normalize("NFKC", caller_id):
        raise ServiceError(refusal, code=ErrorCode.CALLER_NOT_ALLOWED)
    room = MAX_KEY_BYTES - len(longest_prefix.encode()) - FOLDER_KEY_ROOM - 1
    if len(caller_id.encode("utf-8")) > room:
        raise ServiceError(
            f"{refusal}: over {room} bytes, its keys would pass S3's limit", code=ErrorCode.CALLER_NOT_ALLOWED
        )
    return caller_id + "/"


ASSUMED_ROLE = re.compile(r"arn:(?P<partition>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/.+")
UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def principal_arn(arn: str) -> str:
    """The principal behind a signature: a role's sessions (`sts::…:assumed-role/R/session`) are the role
    (`iam::…:role/R`), so every session of one role finds the same folder; any other ARN is itself."""
    if match := ASSUMED_ROLE.fullmatch(arn):
        return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"
    return arn


def iam_caller_folder(arn: str, longest_prefix: str = "") -> str:
    """IAM_CALLER_FOLDERS: a signed caller's folder, folded from its principal ARN deterministically.

    `arn:aws:iam::123456789012:user/alice` -> `123456789012-user-alice-<16 hex>/`: readable, only
    [A-Za-z0-9._-], and the hash of the whole ARN keeps two principals apart that fold alike."""
    principal = principal_arn(arn)
    fields = principal.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn" or not fields[4] or not fields[5]:
        raise ServiceError(f"the caller {arn[:200]!r} is not a principal ARN", code=ErrorCode.CALLER_NOT_ALLOWED)
    readable = UNSAFE_RUN.sub("-", f"{fields[4]}-{fields[5]}")[:64].strip("-.")
    digest = hashlib.sha256(principal.encode()).hexdigest()[:16]
    return caller_folder(f"{readable}-{digest}", longest_prefix)


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
