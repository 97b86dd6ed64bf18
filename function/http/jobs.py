"""Presigned uploads and the jobs they start: POST /uploads and GET /jobs/{id}.

A request body cannot carry more than about 4.4 MB through API Gateway, so a larger photo goes
straight to S3 with a presigned POST under the input prefix, where the S3 function processes it
like any drop. The job is nothing but that key: its status is read from the objects the pipeline
leaves (the input, its output, or its failure report), so there is no database to keep in step.

A job id is 128 random bits and its key sits in the caller's folder (a JWT caller's `<sub>/`),
so a caller can neither guess another's id nor reach another's folder with one. In a public API
(`none`) the caller chooses nothing but the options: the key is the server's, id only, and the
policy bounds the size: until it expires (UPLOAD_TTL), the POST can write that one key, at most
MAX_INPUT_BYTES; and the S3 function makes one result per key (a replay ends as a report).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from function.bucket.keys import JOB_ID, new_job_id, output_key_for_input, report_key_for_input, upload_key
from function.bucket.metadata import METADATA_NAMES, metadata_value, requested_in
from function.bucket.storage import ObjectInfo, ObjectStore
from function.errors import InvalidOption, JobNotFound, StorageNotConfigured
from function.http.auth import Caller
from function.imaging.options import RemovalOptions, options_from_text
from function.settings import Settings, megabytes

REPORT_MAX_BYTES = 64 * 1024  # a failure report is a few hundred bytes of JSON
# The tag every upload carries: S3 lifecycle filters match a prefix, not `input/*/uploads/`, but a tag
# matches uploads in every caller's folder (template.yaml, ExpireUploads).
UPLOAD_TAG = ("rembg-upload", "ticket")
UPLOAD_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{UPLOAD_TAG[0]}</Key><Value>{UPLOAD_TAG[1]}</Value></Tag></TagSet></Tagging>"
)


class Jobs:
    def __init__(self, settings: Settings, store: ObjectStore):
        self.settings = settings
        self.store = store

    def _bucket(self) -> str:
        if not self.settings.aws_bucket_name:
            raise StorageNotConfigured("uploads need a bucket (AWS_BUCKET_NAME)")
        return self.settings.aws_bucket_name

    def create(self, caller: Caller, options_text: Mapping[str, str], content_type: str | None) -> dict[str, Any]:
        """A presigned POST for a new job, carrying the (already validated) options as metadata, and
        the limits these options put on the photo (the job fails past them: better said now)."""
        bucket, job_id = self._bucket(), new_job_id()
        fields = {f"x-amz-meta-{name}": value for name in METADATA_NAMES if (value := options_text.get(name))}
        if content_type:
            fields["Content-Type"] = content_type
        fields["tagging"] = UPLOAD_TAGGING  # what the bucket's lifecycle rule expires uploads by
        ttl = self.settings.upload_ttl
        key = upload_key(self.settings.input_prefix, caller.folder, job_id)
        upload = self.store.presign_post(bucket, key, fields, self.settings.max_input_bytes, ttl)
        return {
            "id": job_id,
            "upload": upload,
            "expires_in": ttl,
            "limits": self.limits(options_from_text({name: text for name, text in options_text.items() if text})),
        }

    def limits(self, options: RemovalOptions) -> list[str]:
        """What the photo must be for these options, in words: the checks the job will run on it."""
        s = self.settings
        said = [f"the file: at most {megabytes(s.max_input_bytes)} and {s.max_input_megapixels:g} MP"]
        if options.matting:
            said.append(
                f"alpha_matting: the photo at most {s.alpha_matting_max_megapixels:g} MP "
                "(ALPHA_MATTING_MAX_MEGAPIXELS), else the job fails with alpha_matting_too_large"
            )
        if options.format == "webp" and (options.scale is None or options.scale**2 > s.webp_max_pixels):
            said.append(
                f"format=webp: the result at most {s.webp_max_megapixels:g} MP (WEBP_MAX_MEGAPIXELS), else the job "
                "fails with webp_too_large; for a larger photo add scale= or ask for png"
            )
        return said

    def status(self, caller: Caller, job_id: str) -> dict[str, Any]:
        """pending, done (with a presigned URL of the result) or failed (with the report's error)."""
        bucket = self._bucket()
        if not JOB_ID.fullmatch(job_id):
            raise JobNotFound(f"no job {job_id!r}: a job id is 32 hex digits, as POST /uploads gave it")
        key = upload_key(self.settings.input_prefix, caller.folder, job_id)
        source = self.store.head(bucket, key)
        if source is None:
            raise JobNotFound(f"no upload for job {job_id} (yet): POST the file with the fields POST /uploads gave")
        answer = {"id": job_id, "status": "pending", "result": None, "error": None}
        out_bucket = self.settings.results_bucket or bucket
        result = self._result(source, key, out_bucket)
        if result:
            return {**answer, "status": "done", "result": result}
        error = self._failure(source, key, out_bucket)
        if error:
            return {**answer, "status": "failed", "error": error}
        return answer

    def _result(self, source: ObjectInfo, key: str, out_bucket: str) -> dict[str, Any] | None:
        try:  # the output's name depends on the format asked for, exactly as the S3 function derives it
            fmt = requested_in(source.metadata).format
        except InvalidOption:
            return None  # the pipeline reports it as a failure
        s = self.settings
        out_key = output_key_for_input(key, s.input_prefix, s.output_prefix, fmt)
        output = self.store.head(out_bucket, out_key, denied_means_missing=True)
        # The job's result is the first file uploaded with the ticket: a replay never replaces it.
        if output is None or output.metadata.get("source-key") != metadata_value(key):
            return None
        return {
            "url": self.store.presign_get(out_bucket, out_key, s.presigned_url_ttl),
            "key": out_key,
            "width": int(output.metadata.get("width", 0)),
            "height": int(output.metadata.get("height", 0)),
            "format": fmt,
            "foreground": _box(output.metadata.get("foreground", "")),
        }

    def _failure(self, source: ObjectInfo, key: str, out_bucket: str) -> dict[str, Any] | None:
        report_key = report_key_for_input(key, self.settings.input_prefix, self.settings.failed_prefix)
        if self.store.head(out_bucket, report_key, denied_means_missing=True) is None:
            return None
        report = json.loads(self.store.get_bytes(out_bucket, report_key, REPORT_MAX_BYTES))
        if report.get("source", {}).get("etag") != source.etag:
            return None
        return {"code": report["error"]["code"], "message": report["error"]["message"]}


def _box(text: str) -> dict[str, int] | None:
    """The output's `foreground` metadata ("left,top,width,height") as a box; None if absent or odd."""
    parts = text.split(",")
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        return None
    return dict(zip(("left", "top", "width", "height"), map(int, parts), strict=True))
