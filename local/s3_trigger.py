"""The S3 trigger, emulated for local runs by polling the input prefix.

On AWS, S3 invokes the S3 function for each ObjectCreated under the input prefix. moto
has no Lambda to notify, so this thread lists the prefix every second and hands each new
object (new key or new ETag) to the same `s3_handler`, in the same event shape S3 would send.
"""

from __future__ import annotations

import logging
import threading

from local.events import LocalLambdaContext as lambda_context
from local.events import s3_notification

logger = logging.getLogger(__name__)


class InputPrefixPoller(threading.Thread):
    def __init__(self, client, bucket: str, prefix: str, s3_handler, interval: float = 1.0):
        super().__init__(name="s3-trigger", daemon=True)
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.s3_handler = s3_handler
        self.interval = interval
        self.seen: set[tuple[str, str]] = set()
        self.stopped = threading.Event()

    def new_objects(self) -> list[dict]:
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                if (obj["Key"], obj["ETag"]) not in self.seen:
                    self.seen.add((obj["Key"], obj["ETag"]))
                    found.append(obj)
        return found

    def poll_once(self) -> list[dict]:
        """Invoke the handler once per new object; return the handler's results."""
        results = []
        for obj in self.new_objects():
            event = s3_notification(self.bucket, [obj["Key"]], etag=obj["ETag"].strip('"'), size=obj["Size"])
            try:
                result = self.s3_handler(event, lambda_context())
            except Exception:  # as on Lambda, a failed invocation does not stop the trigger
                logger.exception("s3_handler failed for %s", obj["Key"])
                self.seen.discard((obj["Key"], obj["ETag"]))  # retried on the next poll
                continue
            for record in result["records"]:
                print(f"[s3 trigger] {record['key']} -> {record['status']} {record['output_key'] or ''}", flush=True)
            results.append(result)
        return results

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.poll_once()
            except Exception:
                logger.exception("polling the input prefix failed")

    def stop(self) -> None:
        self.stopped.set()
