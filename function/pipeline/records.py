"""Event shapes -> the S3 objects to process. Parsing only: no S3 calls, no image work.

S3 sends ObjectCreated notifications directly (an async invoke) or wrapped in SQS messages;
a failed async event comes back wrapped once more in Lambda's on-failure record when it is
redriven; S3 Batch Operations names one object per task. All come down to a list of `InputObject`s here, so the processor sees one shape.
A record that names no bucket and key becomes a `MalformedRecord`: it can never succeed, so
it is reported, never retried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.s3_batch_operation_event import S3BatchOperationTask
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@dataclass(frozen=True)
class InputObject:
    bucket: str
    key: str


@dataclass(frozen=True)
class MalformedRecord:
    """Part of an event that names no object to process; `where` points at it in the event."""

    where: str
    reason: str


class NotAnS3Notification(ValueError):
    """An SQS message whose body is not an S3 notification: it can never succeed."""


def original_event(event: object) -> object:
    """Lambda's on-failure destination record -> the event that failed; anything else as it is.

    The record holds the failed event in `requestPayload` beside `requestContext` (the function,
    the condition) and `responseContext`/`responsePayload` (the error), so a redriven failure
    is processed like the notification it wraps.
    """
    if isinstance(event, dict) and "requestContext" in event and isinstance(event.get("requestPayload"), dict):
        return event["requestPayload"]
    return event


def _missing_field(record: object) -> str | None:
    """What a record lacks to name an object, or None. eventName is checked first: other events
    are not ours to judge."""
    if not isinstance(record, dict):
        return "is not a JSON object"
    if not isinstance(record.get("eventName"), str):
        return "has no eventName"
    if not record["eventName"].startswith("ObjectCreated"):
        return None
    s3 = record.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    if not isinstance(bucket, dict) or not isinstance(bucket.get("name"), str) or not bucket["name"]:
        return "has no s3.bucket.name"
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str) or not obj["key"]:
        return "has no s3.object.key"
    return None


def objects_in_notification(event: object) -> list[InputObject | MalformedRecord]:
    """Every ObjectCreated record (not just the first), keys URL-decoded ('+' is a space)."""
    event = original_event(event)
    if not isinstance(event, dict):
        return [MalformedRecord("event", "the event is not a JSON object")]
    records = event.get("Records")
    if not records:  # e.g. the s3:TestEvent S3 sends when a notification is set up
        return []
    if not isinstance(records, list):
        return [MalformedRecord("Records", "Records is not a list")]
    objects: list[InputObject | MalformedRecord] = []
    for index, raw in enumerate(records):
        if problem := _missing_field(raw):
            objects.append(MalformedRecord(f"Records[{index}]", f"the record {problem}"))
            continue
        record = S3EventRecord(raw)
        if record.event_name.startswith("ObjectCreated"):
            # Powertools leaves per-record keys as S3 sent them: URL-encoded.
            objects.append(InputObject(record.s3.bucket.name, unquote_plus(record.s3.get_object.key)))
    return objects


def objects_in_message(record: SQSRecord) -> list[InputObject | MalformedRecord]:
    """The objects of an S3 notification (or a redriven on-failure record) in one SQS message's body."""
    try:
        notification = original_event(json.loads(record.body))
    except json.JSONDecodeError as error:
        raise NotAnS3Notification(f"SQS message {record.message_id} is not JSON") from error
    if isinstance(notification, dict) and notification.get("Event") == "s3:TestEvent":
        return []
    if not isinstance(notification, dict) or "Records" not in notification:
        raise NotAnS3Notification(f"SQS message {record.message_id} is not an S3 notification")
    return objects_in_notification(notification)


def task_object(task: S3BatchOperationTask) -> InputObject | MalformedRecord:
    """Schema 1.0 names the bucket by ARN, 2.0 by name; Powertools reads both and URL-decodes the key."""
    if not isinstance(task.get("s3Key"), str) or not (task.get("s3BucketArn") or task.get("s3Bucket")):
        return MalformedRecord(f"task {task.get('taskId')}", "the task has no s3Key and bucket")
    return InputObject(task.s3_bucket, task.s3_key)


def is_sqs_event(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    first = records[0] if isinstance(records, list) and records else None
    return isinstance(first, dict) and first.get("eventSource") == "aws:sqs"
