"""Every handler string in template.yaml, run the way AWS's Python base image runs it: the runtime
interface client (`python -m awslambdaric <handler>`) in a fresh process on a Lambda-like filesystem
(benchmarks/sandbox.py), talking HTTP to a local Runtime API (tests/runtime_api.py) that hands it the
real events from events/. What this proves beyond calling the functions: the handler string resolves,
the real context object works with Powertools, results serialise, and an unexpected error reaches
Lambda in its error shape (what the on-failure record then carries)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.sandbox import REPO, lambda_env, run_in_sandbox, sandbox_available
from local.embedded_s3 import LOCAL_BUCKET, EmbeddedS3
from local.invoke import seed
from tests.runtime_api import Invocation, LocalRuntimeApi
from tests.support import assert_astronaut_cutout

pytest.importorskip("awslambdaric", reason="the runtime interface client is in requirements-dev.txt")
pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(sandbox_available() is not None, reason=f"no Lambda-like sandbox here: {sandbox_available()}"),
]

EVENTS = REPO / "events"
CUTOUT = "output/holiday photos/café 1.png"
TESTED = ["http_handler", "s3_handler", "sqs_handler", "batch_handler"]
BOOTSTRAP = """
import runpy, sys
sys.argv = ["awslambdaric", HANDLER]
runpy.run_module("awslambdaric", run_name="__main__")
"""


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def doomed_s3():
    """A server of this test's own, which it stops to make S3 fail under a running function (moto keeps its data per
    process, so the objects are the session server's)."""
    server = EmbeddedS3()
    server.start()
    server.create_bucket(LOCAL_BUCKET)  # in us-east-1, creating a bucket you own again is a no-op
    stopped = []
    yield server, lambda: stopped.append(server.stop())
    if not stopped:
        server.stop()


def run_under_the_runtime_client(image_dir: Path, s3: EmbeddedS3, handler: str, invocations: list[Invocation]):
    with LocalRuntimeApi(invocations, function_name=handler) as api:
        env = lambda_env(
            baked_cache=image_dir / "numba",
            model_home=image_dir / "models",
            MODEL_NAME="u2netp",
            **s3.environment(LOCAL_BUCKET),
            # What Lambda sets for a python3.12 image function.
            AWS_LAMBDA_RUNTIME_API=api.address,
            AWS_EXECUTION_ENV="AWS_Lambda_python3.12",
            _HANDLER=handler,
            LAMBDA_TASK_ROOT=str(REPO),
            AWS_LAMBDA_FUNCTION_NAME=handler.rsplit(".", 1)[1],
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="3008",
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        )
        result = run_in_sandbox(f"HANDLER = {handler!r}\n" + BOOTSTRAP, env, timeout=600)
    assert api.init_error is None, api.init_error
    unanswered = [i.event for i in invocations if i.outcome is None]
    assert not unanswered, result.describe()
    return invocations


def responses(invocations: list[Invocation]) -> list[dict]:
    assert [i.outcome for i in invocations] == ["response"] * len(invocations), [i.body for i in invocations]
    return [i.body for i in invocations]


def test_every_handler_string_in_the_template_has_a_runtime_client_test():
    from tests.unit.test_template import all_handler_commands, template_dict

    assert set(all_handler_commands(template_dict())) == {f"function.handlers.{name}" for name in TESTED}


def test_http_handler_answers_api_gateway_events(lambda_image_dir, embedded_s3):
    url_event = event("http-remove-bg-url.json")
    seed(embedded_s3.client(), LOCAL_BUCKET, "http", url_event)  # the placeholder URL -> a presigned local one

    health, upload, by_url = responses(
        run_under_the_runtime_client(
            lambda_image_dir,
            embedded_s3,
            "function.handlers.http_handler",
            [
                Invocation(event("http-health.json")),
                Invocation(event("http-remove-bg-upload.json")),
                Invocation(url_event),
            ],
        )
    )

    assert health["statusCode"] == 200 and json.loads(health["body"])["model"] == "u2netp"
    assert upload["statusCode"] == 200 and upload["isBase64Encoded"]
    assert Image.open(io.BytesIO(base64.b64decode(upload["body"]))).mode == "RGBA"
    assert by_url["statusCode"] == 200, by_url
    assert_astronaut_cutout(Image.open(io.BytesIO(base64.b64decode(by_url["body"]))))


def test_s3_handler_processes_notifications_and_redrives_and_reports_a_failure_in_lambdas_error_shape(
    lambda_image_dir, doomed_s3
):
    s3, stop_s3 = doomed_s3
    notification = event("s3-put.json")
    seed(s3.client(), LOCAL_BUCKET, "s3", notification)
    s3.client().delete_object(Bucket=LOCAL_BUCKET, Key=CUTOUT)

    put, redriven, failed = run_under_the_runtime_client(
        lambda_image_dir,
        s3,
        "function.handlers.s3_handler",
        [
            Invocation(notification),
            Invocation(event("s3-put-failure-record.json")),
            Invocation(notification, before=stop_s3),
        ],  # S3 goes away: a failure worth a retry
    )

    assert put.outcome == redriven.outcome == "response"
    assert (put.body["processed"], redriven.body["duplicate"]) == (1, 1)
    assert put.body["records"][0]["output_key"] == CUTOUT
    assert failed.outcome == "error"
    assert set(failed.body) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert (failed.body["errorType"], failed.body["requestId"]) == ("TransientFailure", failed.request_id)
    assert (
        failed.body["errorMessage"]
        == "1 record(s) failed transiently: input/holiday photos/café 1.jpg: StorageUnavailable"
    )
    assert any("in s3_handler" in line for line in failed.body["stackTrace"])
    assert json.loads(failed.xray_cause)["exceptions"][0]["type"] == "TransientFailure"


def test_sqs_handler_answers_with_a_partial_batch_response(lambda_image_dir, embedded_s3):
    messages = event("sqs-s3-put.json")
    seed(embedded_s3.client(), LOCAL_BUCKET, "s3", messages)

    answers = responses(
        run_under_the_runtime_client(
            lambda_image_dir,
            embedded_s3,
            "function.handlers.sqs_handler",
            [Invocation(messages), Invocation(event("sqs-redriven-failure-record.json"))],
        )
    )

    assert answers == [{"batchItemFailures": []}] * 2


def test_batch_handler_answers_batch_operations_in_both_schemas(lambda_image_dir, embedded_s3):
    client = embedded_s3.client()
    seed(client, LOCAL_BUCKET, "batch", event("batch-ops-v1.json"))
    client.delete_object(Bucket=LOCAL_BUCKET, Key=CUTOUT)

    v1, v2 = responses(
        run_under_the_runtime_client(
            lambda_image_dir,
            embedded_s3,
            "function.handlers.batch_handler",
            [Invocation(event("batch-ops-v1.json")), Invocation(event("batch-ops-v2.json"))],
        )
    )

    assert v1["invocationSchemaVersion"] == "1.0" and v2["invocationSchemaVersion"] == "2.0"
    assert [r["resultCode"] for r in v1["results"] + v2["results"]] == ["Succeeded", "Succeeded"]
    assert (v1["results"][0]["resultString"], v2["results"][0]["resultString"]) == (CUTOUT, f"duplicate {CUTOUT}")
    assert_astronaut_cutout(Image.open(io.BytesIO(client.get_object(Bucket=LOCAL_BUCKET, Key=CUTOUT)["Body"].read())))
