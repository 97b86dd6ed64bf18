"""Event shapes -> the S3 objects to process. Parsing only: no S3 calls, no image work.

S3 sends ObjectCreated notifications directly (an async invoke) or wrapped in SQS messages;
both come down to a list of `InputObject`s here, so the processor sees one shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@dataclass(frozen=True)
class InputObject:
    bucket: str
    key: str


class NotAnS3Notification(ValueError):
    """An SQS message whose body is not an S3 notification: it can never succeed."""


def objects_in_notification(event: dict) -> list[InputObject]:
    """Every ObjectCreated record (not just the first), keys URL-decoded ('+' is a space)."""
    if not event.get("Records"):  # e.g. the s3:TestEvent S3 sends when a notification is set up
        return []
    return [
        # Powertools leaves per-record keys as S3 sent them: URL-encoded.
        InputObject(record.s3.bucket.name, unquote_plus(record.s3.get_object.key))
        for record in S3Event(event).records
        if record.event_name.startswith("ObjectCreated")
    ]


def objects_in_message(record: SQSRecord) -> list[InputObject]:
    """The objects of an S3 notification carried in one SQS message's body."""
    try:
        notification = json.loads(record.body)
    except json.JSONDecodeError as error:
        raise NotAnS3Notification(f"SQS message {record.message_id} is not JSON") from error
    if not isinstance(notification, dict) or "Records" not in notification:
        raise NotAnS3Notification(f"SQS message {record.message_id} is not an S3 notification")
    return objects_in_notification(notification)


def is_sqs_event(event: dict) -> bool:
    records = event.get("Records") or []
    return bool(records) and isinstance(records[0], dict) and records[0].get("eventSource") == "aws:sqs"
