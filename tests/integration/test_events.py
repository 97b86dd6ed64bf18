"""The event files in events/ (what `sam local invoke` and the offline invoker use) work end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.invoke import seed
from tests.support import assert_astronaut_cutout, header, lambda_context, open_image, response_body, response_json

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.mark.parametrize("name", ["http-remove-bg-url.json", "http-remove-bg-upload.json"])
def test_http_image_events_return_a_cutout(handlers, s3, bucket, name):
    event = load(name)
    seed(s3, bucket, "http", event)

    response = handlers.http_handler(event, lambda_context())

    assert response["statusCode"] == 200
    assert header(response, "content-type") == "image/png"
    assert open_image(response_body(response)).mode == "RGBA"


def test_http_output_key_event_stores_under_results(handlers, s3, bucket):
    event = load("http-remove-bg-output-key.json")
    seed(s3, bucket, "http", event)
    s3.delete_object(Bucket=bucket, Key="results/astronaut.png")  # a test re-run must not hit 409

    response = handlers.http_handler(event, lambda_context())

    assert response["statusCode"] == 201
    assert response_json(response)["key"] == "results/astronaut.png"
    assert_astronaut_cutout(open_image(s3.get_object(Bucket=bucket, Key="results/astronaut.png")["Body"].read()))


def test_health_event(handlers):
    response = handlers.http_handler(load("http-health.json"), lambda_context())

    assert response["statusCode"] == 200 and response_json(response)["model"] == "u2netp"


@pytest.mark.parametrize(
    ("name", "entry_point"),
    [
        ("s3-put.json", "s3_handler"),
        ("sqs-s3-put.json", "sqs_handler"),
        ("s3-put-failure-record.json", "s3_handler"),  # a redrive, directly
        ("sqs-redriven-failure-record.json", "sqs_handler"),  # a redrive, through the queue
        ("batch-ops-v1.json", "batch_handler"),
        ("batch-ops-v2.json", "batch_handler"),
    ],
)
def test_s3_events_turn_the_url_encoded_key_into_an_output(handlers, s3, bucket, name, entry_point):
    event = load(name)
    seed(s3, bucket, "batch" if entry_point == "batch_handler" else "s3", event)
    s3.delete_object(Bucket=bucket, Key="output/holiday photos/café 1.png")

    result = getattr(handlers, entry_point)(event, lambda_context())

    assert result.get("batchItemFailures", []) == []
    assert [r["resultCode"] for r in result.get("results", [{"resultCode": "Succeeded"}])] == ["Succeeded"]
    assert result.get("processed", 1) == 1
    body = s3.get_object(Bucket=bucket, Key="output/holiday photos/café 1.png")["Body"].read()
    assert_astronaut_cutout(open_image(body))


@pytest.mark.process
def test_offline_invoke_command_runs_an_event_on_a_fresh_embedded_s3(model_home, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"MODEL_NAME": "u2netp", "U2NET_HOME": str(model_home)})

    completed = subprocess.run(
        [sys.executable, "-m", "local.invoke", "s3", str(EVENTS / "s3-put.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=EVENTS.parent,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout)
    assert result["processed"] == 1
    assert result["records"][0]["output_key"] == "output/holiday photos/café 1.png"


def test_make_local_s3_serves_every_object_the_s3_side_events_name():
    """`make local-s3` (for `sam local invoke`), on a free port here rather than local-env.json's."""
    import boto3

    from local.container_s3 import s3_side_events
    from local.embedded_s3 import LOCAL_AWS_ENV, LOCAL_BUCKET

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "local.container_s3", "--port", "0"],
        cwd=EVENTS.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        endpoint = first_line.split()[3].rstrip(",")
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        keys = {obj["Key"] for obj in client.list_objects_v2(Bucket=LOCAL_BUCKET)["Contents"]}
    finally:
        server.terminate()
        server.wait(30)

    assert set(s3_side_events()) == {
        "s3-put.json",
        "sqs-s3-put.json",
        "s3-put-failure-record.json",
        "sqs-redriven-failure-record.json",
        "batch-ops-v1.json",
        "batch-ops-v2.json",
    }
    assert keys == {"input/holiday photos/café 1.jpg"}, first_line
