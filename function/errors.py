"""The service's error codes and the one JSON envelope every error response uses.

Each expected failure is a `ServiceError` subclass carrying its HTTP status and a stable
machine-readable code. The HTTP path maps them to responses; the S3 path treats them as
permanent (not worth a retry) because the same bytes would fail the same way again.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An expected, client-caused failure with a stable code."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class ImageFetchFailed(ServiceError):
    status, code = 400, "image_fetch_failed"


class UrlNotAllowed(ServiceError):
    """The URL was refused before (or while) connecting; `code` names the rule."""

    status, code = 400, "url_not_allowed"


class ImageNotFound(ServiceError):
    status, code = 400, "image_not_found"


class ImageUndecodable(ServiceError):
    status, code = 400, "image_undecodable"


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"


class InputTooLarge(ServiceError):
    status, code = 413, "input_too_large"


class OutputTooLarge(ServiceError):
    status, code = 413, "output_too_large"


class InvalidOption(ServiceError):
    status, code = 422, "invalid_option"


class KeyNotAllowed(ServiceError):
    status, code = 400, "key_not_allowed"


class OutputExists(ServiceError):
    status, code = 409, "output_exists"


class StorageNotConfigured(ServiceError):
    status, code = 400, "storage_not_configured"


def error_body(code: str, message: str, request_id: str | None = None) -> dict:
    """The single error envelope: `{"error": {"code", "message", "request_id"?}}`."""
    error: dict[str, Any] = {"code": code, "message": message}
    if request_id:
        error["request_id"] = request_id
    return {"error": error}
