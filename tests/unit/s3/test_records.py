"""What the S3 function is asked to process, read out of the events S3 and SQS deliver."""

import json

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from function.s3.records import (
    InputObject,
    NotAnS3Notification,
    is_sqs_event,
    objects_in_message,
    objects_in_notification,
)
from local.events import s3_notification


def test_every_created_record_counts_and_keys_are_url_decoded():
    event = s3_notification("b", ["input/holiday photos/café 1.jpg", "input/a+b.jpg"])
    event["Records"].append({**event["Records"][0], "eventName": "ObjectRemoved:Delete"})

    assert objects_in_notification(event) == [
        InputObject("b", "input/holiday photos/café 1.jpg"),
        InputObject("b", "input/a+b.jpg"),
    ]


def test_the_test_event_s3_sends_on_set_up_has_nothing_to_do():
    assert objects_in_notification({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == []


def sqs_record(body: str) -> SQSRecord:
    return SQSRecord({"messageId": "m-1", "body": body, "eventSource": "aws:sqs"})


def test_an_sqs_message_carries_a_notification():
    body = json.dumps(s3_notification("b", ["input/x.jpg"]))

    assert objects_in_message(sqs_record(body)) == [InputObject("b", "input/x.jpg")]
    assert is_sqs_event({"Records": [{"eventSource": "aws:sqs"}]})
    assert not is_sqs_event(s3_notification("b", ["input/x.jpg"]))


@pytest.mark.parametrize("body", ["not json", "[]", '{"hello": 1}'])
def test_a_message_that_is_no_notification_is_named_so(body):
    with pytest.raises(NotAnS3Notification):
        objects_in_message(sqs_record(body))
