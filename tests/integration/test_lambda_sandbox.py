"""Both Lambda entry points on a Lambda-like filesystem (read-only except a fresh /tmp, HOME
unwritable, only the image's env): a fresh process imports function.handlers and answers a real
event each. Any write outside /tmp fails with EROFS in the sandbox, so a clean exit proves none
happened. Timings are printed, never asserted (benchmarks.run measures them)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from benchmarks.sandbox import kept_under_tmp, lambda_env, run_in_sandbox, sandbox_available
from local.embedded_s3 import LOCAL_BUCKET
from local.events import s3_notification
from tests.support import assert_astronaut_cutout, http_api_event, jpeg_bytes

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(sandbox_available() is not None, reason=f"no Lambda-like sandbox here: {sandbox_available()}"),
]
BUCKET = LOCAL_BUCKET

HANDLER = """
import base64, json, os
event = json.load(open(EVENT))
import function.handlers as handlers; mark("init")
from local.events import LocalLambdaContext
response = getattr(handlers, HANDLER)(event, LocalLambdaContext()); mark("first_answer")
tmp = sorted(os.listdir("/tmp"))
print(json.dumps({"response": response, "tmp": tmp}))
"""


@pytest.fixture
def s3_server(embedded_s3):
    return embedded_s3  # the session's moto server: the sandbox shares the host's loopback


def run_handler(image_dir, s3_server, handler: str, event: dict) -> dict:
    event_file = image_dir / f"{handler}-event.json"
    event_file.write_text(json.dumps(event))
    env = lambda_env(
        baked_cache=image_dir / "numba",
        model_home=image_dir / "models",
        MODEL_NAME="u2netp",
        **s3_server.environment(BUCKET),
    )
    result = run_in_sandbox(f"EVENT = {str(event_file)!r}\nHANDLER = {handler!r}\n" + HANDLER, env)
    print(f"\n{handler} cold start marks (s since process start): {result.marks}")
    assert result.returncode == 0, result.describe()
    report = json.loads(result.output.strip().splitlines()[-1])
    expected = sorted(["numba_cache", *kept_under_tmp()])  # a checkout under /tmp is bound in read-only
    assert report["tmp"] == expected, "only the numba cache belongs in /tmp"
    return report["response"]


def test_http_handler_answers_an_upload_with_a_png_cutout(lambda_image_dir, s3_server):
    event = http_api_event(body=jpeg_bytes(), headers={"content-type": "image/jpeg"})

    response = run_handler(lambda_image_dir, s3_server, "http_handler", event)

    assert response["statusCode"] == 200, response
    assert response["isBase64Encoded"] and response["headers"]["content-type"] == "image/png"
    image = Image.open(io.BytesIO(base64.b64decode(response["body"])))
    image.load()
    assert image.format == "PNG"
    assert_astronaut_cutout(image)


def test_s3_handler_processes_a_put_event(lambda_image_dir, s3_server):
    client = s3_server.client()
    client.delete_object(Bucket=BUCKET, Key="output/sandbox/astronaut.png")  # a rerun starts clean
    client.put_object(Bucket=BUCKET, Key="input/sandbox/astronaut.jpg", Body=jpeg_bytes())

    result = run_handler(
        lambda_image_dir, s3_server, "s3_handler", s3_notification(BUCKET, ["input/sandbox/astronaut.jpg"])
    )

    assert result["processed"] == 1, result
    body = client.get_object(Bucket=BUCKET, Key="output/sandbox/astronaut.png")["Body"].read()
    image = Image.open(io.BytesIO(body))
    image.load()
    assert_astronaut_cutout(image)
    assert np.asarray(image)[0, 0, 3] < 10
