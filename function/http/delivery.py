"""How a finished cutout leaves the HTTP API: inline, stored under output_key, or parked in S3.

Everything it stores goes under RESULTS_PREFIX (never the S3 pipeline's OUTPUT_PREFIX), and the
output key arrives already confined to the caller's folder (function/http/auth.py).

API Gateway turns a Lambda response over 6 MB into an opaque 502, so anything over
`MAX_RESPONSE_BYTES` is stored and answered with 303 + a presigned URL (or 413 without a
bucket) before that can happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response

from function.bucket.storage import ObjectStore
from function.errors import AlreadyExists, OutputExists, OutputTooLarge, StorageNotConfigured
from function.http.callers import generated_result_key
from function.imaging.pipeline import Cutout
from function.observability import timed_stage
from function.settings import Settings

FOREGROUND_HEADERS = (
    "X-Width",
    "X-Height",
    "X-Foreground-Top",
    "X-Foreground-Left",
    "X-Foreground-Width",
    "X-Foreground-Height",
)


def cutout_headers(cutout: Cutout) -> dict[str, str]:
    box = cutout.foreground
    values = (cutout.width, cutout.height, box.top, box.left, box.width, box.height)
    return {name: str(value) for name, value in zip(FOREGROUND_HEADERS, values, strict=True)}


@dataclass(frozen=True)
class Destination:
    """Where the caller wants the result: `output_key` (the full key) to store it, else inline (or
    parked in S3 under the caller's `folder` when too large, answered with 303 unless `redirect` is false)."""

    output_key: str | None = None
    overwrite: bool = False
    redirect: bool = True
    folder: str = ""


class Delivery:
    def __init__(self, settings: Settings, store: ObjectStore):
        self.settings = settings
        self.store = store

    def bucket_or_refuse(self) -> str:
        if not self.settings.results_bucket:
            raise StorageNotConfigured("no bucket is configured (AWS_BUCKET_NAME)")
        return self.settings.results_bucket

    def _store(self, cutout: Cutout, key: str, overwrite: bool, stage_ms: dict[str, float]) -> dict[str, Any]:
        bucket = self.bucket_or_refuse()
        with timed_stage("store", stage_ms):
            try:
                self.store.put(bucket, key, cutout.body, cutout.content_type, if_absent=not overwrite)
            except AlreadyExists as exc:
                raise OutputExists(f"{key} already exists; pass overwrite=true to replace it") from exc
            url = self.store.presign_get(bucket, key, self.settings.presigned_url_ttl)
        return {
            "bucket": bucket,
            "key": key,
            "url": url,
            "width": cutout.width,
            "height": cutout.height,
            "format": cutout.format,
        }

    def respond(self, cutout: Cutout, destination: Destination, stage_ms: dict[str, float]) -> Response:
        headers = cutout_headers(cutout)
        if destination.output_key is not None:
            stored = self._store(cutout, destination.output_key, destination.overwrite, stage_ms)
            return JSONResponse(stored, status_code=201, headers=headers)
        if len(cutout.body) <= self.settings.max_response_bytes:
            return Response(cutout.body, media_type=cutout.content_type, headers=headers)
        if not self.settings.results_bucket:
            raise OutputTooLarge(
                f"the result is {len(cutout.body)} bytes, over the {self.settings.max_response_bytes}-byte "
                "response limit; ask for format=webp or crop=true, or configure AWS_BUCKET_NAME"
            )
        key = generated_result_key(self.settings.results_prefix, destination.folder, cutout.format)
        stored = self._store(cutout, key, overwrite=False, stage_ms=stage_ms)
        # A browser's fetch follows a 303 to the bucket, where a page's CSP and CORS stop it;
        # such callers ask for redirect=false and get the same JSON as a plain 201.
        status = 303 if destination.redirect else 201
        return JSONResponse(stored, status_code=status, headers={**headers, "Location": stored["url"]})
