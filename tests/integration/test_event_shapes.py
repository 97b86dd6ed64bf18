"""Never a 500 (nor a crashed invocation) for what an event says: whatever shape API Gateway, S3, SQS or
Batch Operations hands the function, the answer is a 4xx, a failure report or a dropped message."""

from __future__ import annotations

import json
import uuid

import pytest
from mangum import Mangum

from local.events import batch_operations_event, http_api_event
from tests.support import jwt_authorizer, lambda_context, response_json, s3_put_event, sqs_event


def call(handler, method: str, path: str, authorizer) -> tuple[int, dict]:
    response = handler(http_api_event(method=method, path=path, authorizer=authorizer), lambda_context())
    return response["statusCode"], response_json(response)


@pytest.mark.parametrize("mode", ["iam", "jwt", "none"])
@pytest.mark.parametrize(
    "authorizer",
    [
        "a string where API Gateway sends an object",
        {"jwt": "claims"},
        {"jwt": {"claims": "sub=alice"}},
        {"jwt": {"claims": {"sub": {"nested": "object"}}}},
        {"iam": ["userArn"]},
        {"iam": {"userArn": {"arn": "x"}}},
        {"claims": 7},
    ],
)
def test_an_authorizer_of_another_shape_vouches_for_no_one(app_in_mode, mode, authorizer):
    handler = Mangum(app_in_mode(mode), lifespan="off")

    status, body = call(handler, "GET", "/jobs/" + "0" * 32, authorizer)

    # None mode: nobody to vouch for, and a job id no one uploaded.
    expected = (404, "job_not_found") if mode == "none" else (401, "authentication_required")
    assert (status, body["error"]["code"]) == expected


@pytest.mark.parametrize("path", ["/jobs/" + "0" * 32, "/uploads"])
def test_a_sub_too_long_for_its_keys_is_refused_before_any_s3_call(app_in_mode, path):
    handler = Mangum(app_in_mode("jwt"), lifespan="off")
    longest = "s" * 1000  # a valid key alone, but `results/<sub>/uploads/<id>.json` would pass 1,024 bytes
    fits = "s" * 900

    status, body = call(handler, "POST" if path == "/uploads" else "GET", path, jwt_authorizer(longest))
    fitting, _ = call(handler, "POST" if path == "/uploads" else "GET", path, jwt_authorizer(fits))

    assert (status, body["error"]["code"]) == (403, "caller_not_allowed"), body
    assert fitting in (201, 404)


@pytest.mark.parametrize("relative", ["../x.jpg", "./x.jpg", "a//b.jpg", "a/./b.jpg", "a/../../b.jpg"])
def test_a_pipeline_key_with_dot_segments_gets_a_report_and_never_such_an_output_key(
    handlers, s3, bucket, photo, relative
):
    key = f"input/{uuid.uuid4().hex}/{relative}"
    s3.put_object(Bucket=bucket, Key=key, Body=photo)

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]
    report = json.loads(s3.get_object(Bucket=bucket, Key=record["output_key"])["Body"].read())

    assert (record["status"], record["code"]) == ("failed", "key_not_allowed"), record
    segments = record["output_key"].split("/")
    assert record["output_key"].startswith("failed/~") and not {"", ".", ".."} & set(segments)
    assert report["source"]["key"] == key


@pytest.mark.parametrize(
    "task, named",
    [
        ({"taskId": "t-1", "s3Key": 5, "s3Bucket": "b"}, True),
        ({"taskId": "t-1", "s3Key": "input/x.jpg", "s3BucketArn": ["arn"]}, True),
        ({"taskId": "t-1"}, True),
        ("not an object", False),
        ({"s3Key": "input/x.jpg", "s3Bucket": "b"}, False),
    ],
)
def test_a_malformed_batch_operations_task_is_a_permanent_failure_where_it_can_be_named(handlers, task, named):
    event = {**batch_operations_event("b", "input/x.jpg"), "tasks": [task]}

    if not named:
        with pytest.raises(ValueError, match="no task with a taskId"):
            handlers.batch_handler(event, lambda_context())
        return
    response = handlers.batch_handler(event, lambda_context())

    ((result),) = response["results"]
    assert (result["taskId"], result["resultCode"]) == ("t-1", "PermanentFailure")
    assert result["resultString"].startswith("event_malformed")


@pytest.mark.parametrize("shape", [{}, {"tasks": "t-1"}, {"invocationId": 5, "tasks": None}, []])
def test_a_batch_operations_event_with_no_task_at_all_fails_with_one_clear_message(handlers, shape):
    with pytest.raises(ValueError, match="no task with a taskId"):
        handlers.batch_handler(shape, lambda_context())


def test_a_deeply_nested_sqs_body_is_dropped_with_a_warning_not_retried_forever(handlers, caplog):
    bodies = ["[" * 200_000 + "]" * 200_000, '{"Records": ' * 100_000 + "[]" + "}" * 100_000]

    response = handlers.sqs_handler(sqs_event(bodies), lambda_context())

    assert response == {"batchItemFailures": []}
