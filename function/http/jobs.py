"""Presigned uploads and the jobs they start: POST /uploads and GET /jobs/{id}.

A request body cannot carry more than about 4.4 MB through API Gateway, so a larger photo goes
straight to S3 with a presigned POST under the input prefix, where the S3 function processes it
like any drop. The job is nothing but that key: its status is read from the objects the pipeline
leaves (the input, its output, or its failure report), so there is no database to keep in step.

A job id is 128 random bits and its key sits in the caller's folder (a JWT caller's `<sub>/`),
so a caller can neither guess another's id nor reach another's folder with one. In a public API
(`none`) the caller chooses nothing but the options: the key is the server's, id only, and the
policy bounds the size: until it expires, the POST can write that one key, at most MAX_INPUT_BYTES.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from function.bucket.keys import JOB_ID, new_job_id, output_key_for_input, report_key_for_input, upload_key
from function.bucket.metadata import METADATA_NAMES, requested_in
from function.bucket.storage import ObjectInfo, ObjectStore
from function.errors import InvalidOption, JobNotFound, StorageNotConfigured
from function.http.auth import Caller
from function.settings import Settings

REPORT_MAX_BYTES = 64 * 1024  # a failure report is a few hundred bytes of JSON


class Jobs:
    def __init__(self, settings: Settings, store: ObjectStore):
        self.settings = settings
        self.store = store

    def _bucket(self) -> str:
        if not self.settings.aws_bucket_name:
            raise StorageNotConfigured("uploads need a bucket (AWS_BUCKET_NAME)")
        return self.settings.aws_bucket_name

    def create(self, caller: Caller, options_text: Mapping[str, str], content_type: str | None) -> dict[str, Any]:
        """A presigned POST for a new job, carrying the (already validated) options as metadata."""
        bucket, job_id = self._bucket(), new_job_id()
        fields = {f"x-amz-meta-{name}": value for name in METADATA_NAMES if (value := options_text.get(name))}
        if content_type:
            fields["Content-Type"] = content_type
        ttl = self.settings.presigned_url_ttl
        key = upload_key(self.settings.input_prefix, caller.folder, job_id)
        upload = self.store.presign_post(bucket, key, fields, self.settings.max_input_bytes, ttl)
        return {"id": job_id, "upload": upload, "expires_in": ttl}

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
        if output is None or output.metadata.get("source-etag") != source.etag:
            return None
        return {
            "url": self.store.presign_get(out_bucket, out_key, s.presigned_url_ttl),
            "key": out_key,
            "width": int(output.metadata.get("width", 0)),
            "height": int(output.metadata.get("height", 0)),
            "format": fmt,
        }

    def _failure(self, source: ObjectInfo, key: str, out_bucket: str) -> dict[str, Any] | None:
        report_key = report_key_for_input(key, self.settings.input_prefix, self.settings.failed_prefix)
        if self.store.head(out_bucket, report_key, denied_means_missing=True) is None:
            return None
        report = json.loads(self.store.get_bytes(out_bucket, report_key, REPORT_MAX_BYTES))
        if report.get("source", {}).get("etag") != source.etag:
            return None
        return {"code": report["error"]["code"], "message": report["error"]["message"]}
