"""S3 ObjectCreated records -> cutouts under the output prefix, each input version exactly once.

The options (format, bgcolor, ...) come from the input's user metadata (metadata.py); the
output's key takes the format's extension. S3 delivers notifications at least once and Lambda
may run one event twice, even at the same time. Each output carries its source's key, ETag and
options in its metadata and is written conditionally (If-None-Match for a first output,
If-Match on the old output for a newer upload), so racing duplicates lose at S3 instead of
writing a second object. An upload ticket's key (POST /uploads) is the exception to "newer
replaces": it gets one output, and a later file there is reported (upload_already_used).

Failures are sorted: a ServiceError below 500 (empty, not an image, too large, undecodable,
an invalid option, or S3 denying the read) would fail the same way on every retry, so it is
reported under the failed prefix and not raised; anything else (S3 5xx, throttling, timeouts)
is raised so Lambda retries. Only an object S3 says does not exist (404) is "ignored".
"""

from __future__ import annotations

import json
from dataclasses import asdict, astuple, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from function.bucket.keys import background_key_for_input, is_upload_key, output_key_for_input, report_key_for_input
from function.bucket.metadata import metadata_value, requested_in
from function.bucket.storage import ObjectInfo, ObjectStore
from function.errors import AlreadyExists, ErrorCode, OutputExists, ServiceError, StorageAccessDenied, TransientFailure
from function.imaging.model import ModelRegistry
from function.imaging.pipeline import Cutout
from function.observability import logger, record_failure, timed_stage
from function.pipeline.records import InputObject, MalformedRecord
from function.service import CutoutService
from function.settings import Settings


class Status(StrEnum):
    """What became of one record. TRANSIENT is the only one worth a retry: Lambda retries the event,
    SQS the message, Batch Operations the task (its `TemporaryFailure`)."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"  # this input version already has its output
    IGNORED = "ignored"  # not ours to process, or gone
    FAILED = "failed"  # permanent: a report under the failed prefix says why
    TRANSIENT = ErrorCode.TRANSIENT.value  # one name for it: the status, the error code, TransientFailure


@dataclass(frozen=True)
class Outcome:
    key: str
    status: Status
    output_key: str | None = None
    code: str | None = None
    detail: str | None = None


class S3Pipeline:
    def __init__(self, settings: Settings, models: ModelRegistry, store: ObjectStore):
        self.settings = settings
        self.models = models
        self.store = store
        self.cutouts = CutoutService(settings)

    def _ignored_because(self, obj: InputObject) -> str | None:
        s = self.settings
        if s.aws_bucket_name and obj.bucket != s.aws_bucket_name:
            return f"bucket {obj.bucket} is not the configured input bucket"
        if not obj.key.startswith(s.input_prefix) or obj.key.endswith("/"):
            return f"outside the input prefix {s.input_prefix}"
        if obj.bucket == s.results_bucket and obj.key.startswith((s.output_prefix, s.failed_prefix, s.results_prefix)):
            return "one of our own outputs"  # unreachable with valid settings; a last guard against loops
        return None

    def handle(self, obj: InputObject) -> Outcome:
        reason = self._ignored_because(obj)
        if reason:
            return Outcome(obj.key, Status.IGNORED, detail=reason)
        try:
            source = self.store.head(obj.bucket, obj.key)
        except StorageAccessDenied as error:
            return self._report_failure(obj, None, error)
        if source is None:
            return Outcome(obj.key, Status.IGNORED, detail="the object no longer exists")
        try:
            return self._process(obj, source)
        except ServiceError as error:
            if error.status >= 500:
                raise
            return self._report_failure(obj, source, error)

    def _process(self, obj: InputObject, source: ObjectInfo) -> Outcome:
        requested = requested_in(source.metadata)
        model = self.models.get(requested.model)
        out_bucket = self.settings.results_bucket or obj.bucket
        out_key = output_key_for_input(
            obj.key, self.settings.input_prefix, self.settings.output_prefix, requested.format
        )
        previous = self.store.head(out_bucket, out_key, denied_means_missing=True)
        made_by = (metadata_value(obj.key), source.etag, requested.tag)
        made_from = None
        if previous:  # outputs from before options existed carry no "options": the defaults made them
            made_from = tuple(previous.metadata.get(name, "") for name in ("source-key", "source-etag", "options"))
        if made_from == made_by:
            return Outcome(obj.key, Status.DUPLICATE, output_key=out_key)
        if made_from and made_from[0] != made_by[0]:
            # e.g. input/a.jpg after input/a.png, or an API caller's output_key: never overwrite it.
            raise OutputExists(f"{out_key} already holds another object's result; rename this input")
        if made_from and is_upload_key(obj.key, self.settings.input_prefix):
            # A presigned POST can be replayed until it expires: a ticket buys one image, not one per replay.
            raise ServiceError(
                f"{obj.key} is an upload ticket's key and its job already has a result ({out_key}); "
                "ask POST /uploads for a new ticket",
                code=ErrorCode.UPLOAD_ALREADY_USED,
            )

        def read() -> bytes:
            return self.store.get_bytes(obj.bucket, obj.key, self.settings.max_input_bytes, source.version_id)

        def store(cutout: Cutout, stage_ms: dict[str, float]) -> Outcome:
            metadata = {
                "source-key": made_by[0],
                "source-etag": source.etag,
                "source-version": source.version_id or "",
                "options": requested.tag,
                "model": model.name,
                "width": str(cutout.width),
                "height": str(cutout.height),
                # The subject's box (as the API's X-Foreground-* headers): GET /jobs/{id} hands it to the page.
                "foreground": ",".join(str(v) for v in astuple(cutout.foreground)),
            }
            with timed_stage("store", stage_ms):
                self.store.put(
                    out_bucket,
                    out_key,
                    cutout.body,
                    cutout.content_type,
                    metadata,
                    if_absent=previous is None,
                    if_match=previous.etag if previous else None,
                )
            return Outcome(obj.key, Status.PROCESSED, output_key=out_key)

        def read_background() -> bytes:
            key = background_key_for_input(requested.background_key or "", obj.key, self.settings.input_prefix)
            return self._background(obj.bucket, key)

        try:
            return self.cutouts.cut_out(
                read, requested.options, model, store, read_background if requested.background_key else None
            )
        except AlreadyExists:  # a racing duplicate wrote first
            return Outcome(obj.key, Status.DUPLICATE, output_key=out_key)

    def _background(self, bucket: str, key: str) -> bytes:
        try:
            return self.store.get_bytes(bucket, key, self.settings.max_input_bytes)
        except ServiceError as error:
            if error.status >= 500:
                raise
            raise type(error)(f"bg-image-key {key}: {error.message}", code=error.code) from error

    def _report_failure(self, obj: InputObject, source: ObjectInfo | None, error: ServiceError) -> Outcome:
        report_key = report_key_for_input(obj.key, self.settings.input_prefix, self.settings.failed_prefix)
        report = {
            "source": {
                "bucket": obj.bucket,
                "key": obj.key,
                "etag": source and source.etag,
                "version": source and source.version_id,
            },
            "error": {"code": error.code, "message": error.message},
            "at": datetime.now(UTC).isoformat(),
        }
        body = json.dumps(report, indent=2).encode()
        self.store.put(self.settings.results_bucket or obj.bucket, report_key, body, "application/json")
        record_failure(error.code)
        return Outcome(obj.key, Status.FAILED, output_key=report_key, code=error.code, detail=error.message)

    def attempt(self, item: InputObject | MalformedRecord) -> Outcome:
        """One record's outcome, never raised: a failure worth retrying is the outcome TRANSIENT."""
        if isinstance(item, MalformedRecord):
            # It names nothing to read or report on, and would fail the same way again.
            logger.warning("malformed record dropped", extra={"where": item.where, "reason": item.reason})
            record_failure(ErrorCode.EVENT_MALFORMED)
            return Outcome(item.where, Status.FAILED, code=ErrorCode.EVENT_MALFORMED, detail=item.reason)
        logger.set_correlation_id(item.key)
        try:
            return self.handle(item)
        except Exception as error:  # any non-permanent failure: worth a retry
            logger.exception("transient failure")
            record_failure(ErrorCode.TRANSIENT)
            return Outcome(
                item.key, Status.TRANSIENT, code=ErrorCode.TRANSIENT, detail=f"{item.key}: {type(error).__name__}"
            )

    def handle_all(self, items: list[InputObject | MalformedRecord]) -> list[Outcome]:
        """Every record is attempted; transient failures are raised only after the rest are done."""
        outcomes = [self.attempt(item) for item in items]
        if any(outcome.status is Status.TRANSIENT for outcome in outcomes):
            raise TransientFailure(outcomes)
        return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    counts = {str(status): 0 for status in (Status.PROCESSED, Status.DUPLICATE, Status.IGNORED, Status.FAILED)}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return {**counts, "records": [asdict(outcome) for outcome in outcomes]}
