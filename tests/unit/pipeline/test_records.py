"""What the S3 function is asked to process, read out of the events S3 and SQS deliver."""

import json
from urllib.parse import quote, quote_plus

import pytest
from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from function.pipeline.records import (
    InputObject,
    MalformedRecord,
    NotAnS3Notification,
    is_sqs_event,
    objects_in_message,
    objects_in_notification,
    task_object,
)
from local.events import batch_operations_event, on_failure_record, s3_notification


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


def test_a_redriven_failure_record_names_the_objects_of_the_event_it_wraps():
    event = s3_notification("b", ["input/a b.jpg"])

    assert objects_in_notification(on_failure_record(event)) == [InputObject("b", "input/a b.jpg")]
    assert objects_in_message(sqs_record(json.dumps(on_failure_record(event)))) == [InputObject("b", "input/a b.jpg")]


def test_the_test_event_s3_sends_to_a_queue_has_nothing_to_do():
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})

    assert objects_in_message(sqs_record(body)) == []


@pytest.mark.parametrize(
    "records, where, reason",
    [
        ("x", "Records", "Records is not a list"),
        (["x"], "Records[0]", "the record is not a JSON object"),
        ([{"s3": {}}], "Records[0]", "the record has no eventName"),
        ([{"eventName": "ObjectCreated:Put"}], "Records[0]", "the record has no s3.bucket.name"),
        (
            [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {}}}],
            "Records[0]",
            "the record has no s3.object.key",
        ),
        (
            [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": 7}}}],
            "Records[0]",
            "the record has no s3.object.key",
        ),
    ],
)
def test_a_record_without_the_fields_it_needs_is_named_as_malformed_not_a_key_error(records, where, reason):
    assert objects_in_notification({"Records": records}) == [MalformedRecord(where, reason)]


def test_good_records_beside_a_malformed_one_still_count():
    event = s3_notification("b", ["input/x.jpg"])
    event["Records"].insert(0, {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}})

    assert objects_in_notification(event) == [
        MalformedRecord("Records[0]", "the record has no s3.object.key"),
        InputObject("b", "input/x.jpg"),
    ]


def test_an_event_that_is_not_an_object_is_malformed():
    assert objects_in_notification(["not", "an", "event"]) == [
        MalformedRecord("event", "the event is not a JSON object")
    ]
    assert not is_sqs_event("not an event") and not is_sqs_event({"Records": "x"})


# A key with each character URL encoding treats specially, and a literal "%20" that must not be decoded twice.
AWKWARD_KEY = "input/a+b c%20d 100%.jpg"


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
@pytest.mark.parametrize(
    "encode",
    [
        lambda key: quote(key, safe="/"),  # %20 for a space, as the User Guide's manifest example encodes
        lambda key: quote_plus(key, safe="/"),  # + for a space, as S3 encodes keys in its events
    ],
    ids=["percent-20", "plus"],
)
def test_a_batch_operations_key_is_decoded_to_the_object_key_in_both_schemas(schema, encode):
    """Batch Operations sends s3Key URL-encoded (S3 User Guide, Invoke AWS Lambda function): a '+' arrives
    as %2B, a '%' as %25 and a space as %20 or '+'. Decoding must give back the key exactly, or the
    task reads (and writes the cutout of) another object, or none."""
    event = batch_operations_event("b", AWKWARD_KEY, schema)
    event["tasks"][0]["s3Key"] = encode(AWKWARD_KEY)
    assert "%2B" in event["tasks"][0]["s3Key"] and "%25" in event["tasks"][0]["s3Key"]

    (task,) = S3BatchOperationEvent(event).tasks

    assert task_object(task) == InputObject("b", AWKWARD_KEY)
