"""The one catalogue of errors: every code the service answers with, its HTTP status and meaning.

Everything else refers to `ErrorCode` members; the error table on docs/errors.md and the OpenAPI
responses are generated from it (`python -m local.docs` rewrites the page's table, and a test
fails when either drifts). The HTTP path maps a `ServiceError` to its status; the S3 path treats
any status below 500 as permanent, because the same bytes would fail the same way again.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol, Self

from function.settings import megabytes


class ErrorCode(StrEnum):
    """A stable machine-readable code (the value), its HTTP status and a one-line meaning."""

    def __new__(cls, value: str, status: int, meaning: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.meaning = meaning
        return member

    # Who is calling
    AUTHENTICATION_REQUIRED = (
        "authentication_required",
        401,
        "no caller identity from API Gateway: sign the request (API_AUTH=iam) or send a bearer token (API_AUTH=jwt)",
    )
    AUTHORIZATION_REQUIRED = (
        "authorization_required",
        403,
        "image_key, output_key and overwrite need an authenticated caller (API_AUTH=none)",
    )
    CALLER_NOT_ALLOWED = "caller_not_allowed", 403, "the token's sub cannot name a folder (empty, '.', '..' or has '/')"
    # Where the image comes from
    IMAGE_MISSING = "image_missing", 400, "no image: send image_url, image_key or a body (multipart field `file`)"
    IMAGE_AMBIGUOUS = (
        "image_ambiguous",
        400,
        "more than one of image_url, image_key and a body (or of bg_image_url, bg_image_key and bg_file)",
    )
    IMAGE_FETCH_FAILED = (
        "image_fetch_failed",
        400,
        "image_url could not be fetched (DNS, connect, HTTP status, timeout)",
    )
    IMAGE_NOT_FOUND = "image_not_found", 400, "image_key names no readable object"
    INVALID_MULTIPART = "invalid_multipart", 400, "the multipart body is malformed"
    URL_MALFORMED = "url_malformed", 400, "image_url cannot be parsed, or its host is not a plain DNS name"
    URL_SCHEME_NOT_ALLOWED = "url_scheme_not_allowed", 400, "image_url is not https"
    URL_USERINFO_NOT_ALLOWED = "url_userinfo_not_allowed", 400, "image_url carries user:password@"
    URL_HOST_NOT_ALLOWED = "url_host_not_allowed", 400, "image_url's host is not the bucket or an allowed host"
    URL_PORT_NOT_ALLOWED = "url_port_not_allowed", 400, "image_url's port is not 443"
    URL_ADDRESS_NOT_ALLOWED = "url_address_not_allowed", 400, "image_url is an IP or resolves to a non-public address"
    URL_PATH_NOT_ALLOWED = "url_path_not_allowed", 400, "image_url's path has dot segments or names another bucket"
    URL_REDIRECT_NOT_ALLOWED = "url_redirect_not_allowed", 400, "image_url answered with a redirect"
    # What the image is
    IMAGE_EMPTY = "image_empty", 400, "the image is 0 bytes"
    IMAGE_UNDECODABLE = "image_undecodable", 400, "the image is corrupt or truncated"
    UNSUPPORTED_MEDIA_TYPE = (
        "unsupported_media_type",
        415,
        "not JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC/HEIF or AVIF (judged by content)",
    )
    INPUT_TOO_LARGE = "input_too_large", 413, "the image is over MAX_INPUT_BYTES"
    IMAGE_TOO_MANY_PIXELS = (
        "image_too_many_pixels",
        413,
        (
            "over MAX_INPUT_MEGAPIXELS (WebP: half of it), or a side over 16,383 px; a HEIF/AVIF whose tiles "
            "decode to over 1.25x MAX_INPUT_MEGAPIXELS"
        ),
    )
    IMAGE_TOO_MANY_SCANS = (
        "image_too_many_scans",
        413,
        ("a progressive JPEG with more scans than 1,200 / its megapixels (24 at 50 MP), or over 256"),
    )
    IMAGE_TOO_MANY_SEGMENTS = (
        "image_too_many_segments",
        413,
        ("over 65,536 markers, chunks, blocks, tags or tiles, or over 16 Exif/Photoshop segments in a JPEG"),
    )
    IMAGE_TOO_MANY_ITEMS = (
        "image_too_many_items",
        413,
        "a HEIF/AVIF with over 1,000 items, item references or items with properties, images derived over 4 deep, "
        "or its meta box after its 16th box",
    )
    IMAGE_TILES_OUTSIDE_PICTURE = (
        "image_tiles_outside_picture",
        413,
        "a HEIF/AVIF grid with a whole row or column of tiles outside its picture",
    )
    IMAGE_RLE_TOO_MANY_PIXELS = "image_rle_too_many_pixels", 413, "a run-length-encoded BMP over 4 MP"
    IMAGE_UNPROCESSABLE = (
        "image_unprocessable",
        422,
        ("the image decoded, then a processing step failed on it; the same bytes fail the same way"),
    )
    # What was asked of it
    INVALID_OPTION = "invalid_option", 422, "an option is out of range or of the wrong type"
    UNKNOWN_OPTION = (
        "unknown_option",
        422,
        "a query parameter the route does not have (a typo?); the message lists them",
    )
    INVALID_FORMAT = "invalid_format", 422, "format is not png, webp, jpg or auto"
    INVALID_BGCOLOR = "invalid_bgcolor", 422, "bgcolor is not RRGGBB or RRGGBBAA"
    INVALID_CROP_MARGIN = "invalid_crop_margin", 422, "crop_margin is not pixels or a percentage up to 100%"
    CROP_MARGIN_TOO_LARGE = "crop_margin_too_large", 422, "crop_margin would make a result over the input limits"
    MODEL_NOT_AVAILABLE = "model_not_available", 422, "model is not one of the models baked into the image"
    ALPHA_MATTING_TOO_LARGE = (
        "alpha_matting_too_large",
        413,
        "alpha matting over ALPHA_MATTING_MAX_MEGAPIXELS, or whose thresholds and erode_size leave over 60,000 "
        "pixels unknown",
    )
    JOB_NOT_FOUND = (
        "job_not_found",
        404,
        "no upload under this job id for this caller: not uploaded yet, unknown or another caller's",
    )
    WEBP_TOO_LARGE = "webp_too_large", 413, "format=webp for a result over WEBP_MAX_MEGAPIXELS"
    # Where the result goes
    KEY_NOT_ALLOWED = "key_not_allowed", 400, "image_key or output_key escapes its folder or is not a valid key"
    OUTPUT_EXISTS = "output_exists", 409, "the output key exists and overwrite was not asked for"
    OUTPUT_TOO_LARGE = "output_too_large", 413, "the result is over the response limit and no bucket is configured"
    STORAGE_NOT_CONFIGURED = "storage_not_configured", 400, "the request needs a bucket and none is configured"
    STORAGE_ACCESS_DENIED = (
        "storage_access_denied",
        403,
        "S3 denied the function's role this object: a deployment problem, logged as an error",
    )
    # The HTTP layer
    BAD_REQUEST = "bad_request", 400, "the request is not one this API understands"
    NOT_FOUND = "not_found", 404, "no such route"
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "the route exists, with another method"
    # Not the caller's fault
    INTERNAL_ERROR = "internal_error", 500, "unexpected; quote the request id"
    STORAGE_UNAVAILABLE = "storage_unavailable", 503, "S3 throttled or down; retry"
    TRANSIENT = "transient", 503, "S3 path only: a record failed in a way worth retrying; Lambda retries the event"
    UPLOAD_ALREADY_USED = (
        "upload_already_used",
        409,
        "S3 path only: another file at an upload ticket's key after its first result; reported, the job keeps that",
    )
    EVENT_MALFORMED = (
        "event_malformed",
        400,
        "S3 path only: an event record names no bucket and key; reported, never retried",
    )

    status: int
    meaning: str


# Codes that mean the deployment, not the caller or the file, is wrong: logged as errors whatever their status.
OPERATOR_FAULTS = frozenset({ErrorCode.STORAGE_ACCESS_DENIED})


class ServiceError(Exception):
    """An expected failure with a stable code; its HTTP status is the code's."""

    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def status(self) -> int:
        return self.code.status


# One class per kind of failure that code catches by type; `code=` narrows it where needed.
class ImageFetchFailed(ServiceError):
    code = ErrorCode.IMAGE_FETCH_FAILED


class UrlNotAllowed(ServiceError):
    """The URL was refused before (or while) connecting; `code` names the rule."""

    code = ErrorCode.URL_MALFORMED


class ImageNotFound(ServiceError):
    code = ErrorCode.IMAGE_NOT_FOUND


class ImageUndecodable(ServiceError):
    code = ErrorCode.IMAGE_UNDECODABLE


class UnsupportedMediaType(ServiceError):
    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class InputTooLarge(ServiceError):
    code = ErrorCode.INPUT_TOO_LARGE

    @classmethod
    def over(cls, limit: int, what: str = "the image", size: int | None = None) -> InputTooLarge:
        """The one message for any input over MAX_INPUT_BYTES (size None: known only to be over)."""
        found = f"{size:,} bytes" if size is not None else "over the limit"
        return cls(f"{what} is {found}; the limit is {megabytes(limit)} ({limit:,} bytes, MAX_INPUT_BYTES)")


class ImageUnprocessable(ServiceError):
    """A step after decoding failed on this image: deterministic, so a refusal, never a retry."""

    code = ErrorCode.IMAGE_UNPROCESSABLE


class OutputTooLarge(ServiceError):
    code = ErrorCode.OUTPUT_TOO_LARGE


class InvalidOption(ServiceError):
    code = ErrorCode.INVALID_OPTION


class KeyNotAllowed(ServiceError):
    code = ErrorCode.KEY_NOT_ALLOWED


class JobNotFound(ServiceError):
    code = ErrorCode.JOB_NOT_FOUND


class OutputExists(ServiceError):
    code = ErrorCode.OUTPUT_EXISTS


class StorageNotConfigured(ServiceError):
    code = ErrorCode.STORAGE_NOT_CONFIGURED


class StorageAccessDenied(ServiceError):
    """S3 answered 403 although the function may list the prefix: its role or the bucket policy is wrong."""

    code = ErrorCode.STORAGE_ACCESS_DENIED


class StorageUnavailable(ServiceError):
    """S3 throttled, 5xx or unreachable: the HTTP path answers 503, the S3 path retries."""

    code = ErrorCode.STORAGE_UNAVAILABLE


# Signals between our own modules, never shown to a caller as such.
class AlreadyExists(Exception):
    """A conditional S3 write found an object at the key (HTTP 412)."""


class RecordOutcome(Protocol):
    """What TransientFailure reads of each record's outcome (the pipeline's Outcome)."""

    @property
    def code(self) -> str | None: ...
    @property
    def detail(self) -> str | None: ...


class TransientFailure(Exception):
    """Some S3 records hit a failure worth retrying; the others were handled and are idempotent."""

    def __init__(self, outcomes: Sequence[RecordOutcome]):
        self.outcomes = outcomes
        failed = [o for o in outcomes if o.code == ErrorCode.TRANSIENT]
        super().__init__(f"{len(failed)} record(s) failed transiently: " + "; ".join(o.detail or "" for o in failed))


# Configuration errors: they stop a build or a cold start, never a single request.
class ModelNotAvailable(RuntimeError):
    """The configured model is not baked into the image."""


class PrepareError(RuntimeError):
    """A build-time preparation step (model, numba cache) failed its check."""


def error_body(code: ErrorCode, message: str, request_id: str | None = None) -> dict[str, Any]:
    """The single error envelope: `{"error": {"code", "message", "request_id"?}}`."""
    error: dict[str, Any] = {"code": str(code), "message": message}
    if request_id:
        error["request_id"] = request_id
    return {"error": error}


# The S3 path's own codes: an HTTP caller never receives them.
S3_ONLY_CODES = frozenset({ErrorCode.TRANSIENT, ErrorCode.EVENT_MALFORMED, ErrorCode.UPLOAD_ALREADY_USED})


def http_codes() -> list[ErrorCode]:
    """The codes an HTTP caller can receive."""
    return [code for code in ErrorCode if code not in S3_ONLY_CODES]


def markdown_table() -> str:
    """The error table of docs/errors.md, one row per code."""
    rows = ["| status | code | meaning |", "|---|---|---|"]
    for code in sorted(ErrorCode, key=lambda code: code.status):
        rows.append(f"| {code.status} | `{code.value}` | {code.meaning} |")
    return "\n".join(rows)
