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


@pytest.mark.parametrize(("name", "entry_point"), [("s3-put.json", "s3_handler"), ("sqs-s3-put.json", "sqs_handler")])
def test_s3_events_turn_the_url_encoded_key_into_an_output(handlers, s3, bucket, name, entry_point):
    event = load(name)
    seed(s3, bucket, "s3", event)
    s3.delete_object(Bucket=bucket, Key="output/holiday photos/café 1.png")

    result = getattr(handlers, entry_point)(event, lambda_context())

    assert result.get("batchItemFailures", []) == []
    body = s3.get_object(Bucket=bucket, Key="output/holiday photos/café 1.png")["Body"].read()
    assert_astronaut_cutout(open_image(body))


def test_offline_invoke_command_runs_an_event_on_a_fresh_embedded_s3(model_home, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"MODEL_NAME": "u2netp", "U2NET_HOME": str(model_home)})

    completed = subprocess.run(
        [sys.executable, "-m", "local.invoke", "s3", str(EVENTS / "s3-put.json")],
        capture_output=True, text=True, env=env, timeout=180, cwd=EVENTS.parent,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout)
    assert result["processed"] == 1
    assert result["records"][0]["output_key"] == "output/holiday photos/café 1.png"
