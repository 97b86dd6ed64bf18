"""An operator proves a stack with `make smoke`: one line per check, a clear FAIL for a broken piece,
and nothing left behind in the bucket."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
import requests

from local.embedded_s3 import LOCAL_AWS_ENV, LOCAL_BUCKET
from local.gateway import LocalJwtAuthorizer, is_public
from local.s3_trigger import InputPrefixPoller
from tests.support import EXAMPLE_CREDENTIALS, iam_authorizer, open_image, served, sigv4_signature_is_valid

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(ok|FAIL|skip) +(\d+\.\d\d)s  ([^:]+): (.*)$")
# What the smoke and the stacks it talks to read from the environment: each test sets its own.
CONFIGURING = {"STACK", "API", "BUCKET", "AUTH", "TOKEN", "OTHER_TOKEN", "ORIGIN", "SMOKE_TIMEOUT"}
CONFIGURING |= {"PORT", "LOCAL_S3_PORT", "API_AUTH", "FRONTEND_URL"}


def run_smoke(env: dict[str, str], timeout: float = 600) -> tuple[int, dict[str, tuple[str, str]], str]:
    """`make smoke`'s command with `env`: (exit status, {check: (status, detail)}, everything printed)."""
    base = {
        name: value for name, value in os.environ.items() if name not in CONFIGURING and not name.startswith("AWS_")
    }
    done = subprocess.run(
        [sys.executable, "-m", "local.smoke"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    checks = {found[3]: (found[1], found[4]) for line in done.stdout.splitlines() if (found := LINE.match(line))}
    return done.returncode, checks, done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def every_version(s3, bucket: str = LOCAL_BUCKET) -> set[tuple[str, str]]:
    listed = s3.list_object_versions(Bucket=bucket)
    return {(item["Key"], item["VersionId"]) for kind in ("Versions", "DeleteMarkers") for item in listed.get(kind, [])}


def local_s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@contextmanager
def make_run(**env: str):
    """`make run` in a process of its own, on free ports: yields (PORT, LOCAL_S3_PORT, S3 client)."""
    port, s3_port = free_port(), free_port()
    base = {
        name: value for name, value in os.environ.items() if name not in CONFIGURING and not name.startswith("AWS_")
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        env={**base, "PORT": str(port), "LOCAL_S3_PORT": str(s3_port), **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        s3 = local_s3_client(f"http://127.0.0.1:{s3_port}")
        deadline = time.monotonic() + 300  # the model loads first; this only bounds a hung start
        while True:
            assert process.poll() is None, "make run exited"
            try:
                # Up, and done with the sample it processes on start (so the bucket is at rest).
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok and s3.list_objects_v2(
                    Bucket=LOCAL_BUCKET, Prefix="output/sample."
                ).get("Contents"):
                    break
            except Exception:  # not listening yet, or the bucket not made yet
                pass
            assert time.monotonic() < deadline, "make run did not come up"
            time.sleep(1)
        yield port, s3_port, s3
    finally:
        process.terminate()
        process.wait(30)


@pytest.mark.process
def test_make_smoke_passes_against_make_run_and_leaves_the_bucket_as_it_was():
    with make_run(API_AUTH="none", FRONTEND_URL="http://localhost:3000") as (port, s3_port, s3):
        before = every_version(s3)

        status, checks, printed = run_smoke(
            {"PORT": str(port), "LOCAL_S3_PORT": str(s3_port), "FRONTEND_URL": "http://localhost:3000"}
        )

        after = every_version(s3)
    print(printed)  # the smoke's own report, shown with -s
    assert status == 0, printed
    assert {name: result for name, (result, _) in checks.items()} == {
        "GET /health": "ok",
        "POST /remove-bg, a photo in the body": "ok",
        "POST /remove-bg?image_url=<presigned GET>": "ok",
        "POST /uploads, presigned POST, GET /jobs/{id}": "ok",
        "S3 drop under input/": "ok",
        "a bad file under input/": "ok",
        "a caller with no credentials": "skip",  # public: nothing to refuse
        "JWT callers kept apart": "skip",
        "CORS preflight": "ok",
    }, printed
    assert "auth none" in checks["GET /health"][1]
    assert "unsupported_media_type" in checks["a bad file under input/"][1]
    assert after == before, "the smoke left objects behind"


def test_a_port_with_nothing_listening_is_one_clear_fail_line():
    status, checks, printed = run_smoke({"PORT": str(free_port()), "LOCAL_S3_PORT": str(free_port())}, timeout=120)

    assert status == 1
    assert checks == {"GET /health": ("FAIL", "the API did not answer (Connection refused)")}, printed
    assert "Traceback" not in printed


def test_an_unknown_stack_is_a_fail_line(embedded_s3):
    env = {**LOCAL_AWS_ENV, "AWS_ENDPOINT_URL_CLOUDFORMATION": embedded_s3.endpoint, "STACK": "no-such-stack"}

    status, _, printed = run_smoke(env, timeout=120)

    assert status == 1
    assert printed.startswith("FAIL   0.00s  the stack: cannot read stack 'no-such-stack' in us-east-1")
    assert "Stack with id no-such-stack does not exist" in printed and "Traceback" not in printed


@pytest.mark.process
def test_a_stack_whose_s3_trigger_is_not_running_fails_the_pipeline_checks_within_the_timeout(
    embedded_s3, live_api, s3
):
    """The stack's outputs (read from CloudFormation, moto's here) name an API that answers, but nothing
    processes the bucket's input prefix: the pipeline checks fail once SMOKE_TIMEOUT runs out."""
    cloudformation = boto3.client(
        "cloudformation",
        endpoint_url=embedded_s3.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    outputs = {"ApiUrl": f"{live_api}/", "BucketName": LOCAL_BUCKET, "ApiAuthMode": "NONE"}
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    cloudformation.create_stack(StackName="untriggered", TemplateBody=json.dumps(template))
    before = every_version(s3)
    env = {
        **LOCAL_AWS_ENV,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": embedded_s3.endpoint,
        "AWS_ENDPOINT_URL_S3": embedded_s3.endpoint,
        "STACK": "untriggered",
        "SMOKE_TIMEOUT": "3",
    }

    status, checks, printed = run_smoke(env)

    assert status == 1
    assert printed.startswith("smoke: stack untriggered in us-east-1 (CREATE_COMPLETE)")
    assert checks["GET /health"][0] == checks["POST /remove-bg, a photo in the body"][0] == "ok"
    assert checks["POST /remove-bg?image_url=<presigned GET>"][0] == "ok"
    job = checks["POST /uploads, presigned POST, GET /jobs/{id}"]
    assert job[0] == "FAIL" and "still pending after 3 s" in job[1]
    drop = checks["S3 drop under input/"]
    assert drop[0] == "FAIL" and "no cutout under s3://local-bucket/output/smoke-" in drop[1]
    assert "after 3 s: is the S3 trigger" in drop[1]
    assert checks["a bad file under input/"][0] == "FAIL"
    assert "no failure report under s3://local-bucket/failed/smoke-" in checks["a bad file under input/"][1]
    seconds = [float(LINE.match(line)[2]) for line in printed.splitlines() if line.startswith("FAIL")]
    assert len(seconds) == 3 and max(seconds) < 60, "each wait is bounded by SMOKE_TIMEOUT"
    assert every_version(s3) == before, "the smoke left objects behind"


@contextmanager
def s3_trigger(handlers, s3):
    """make run's S3 trigger on the session's bucket, for the smoke's drops while a test runs."""
    trigger = InputPrefixPoller(s3, LOCAL_BUCKET, handlers.settings.input_prefix, handlers.s3_handler, interval=0.5)
    trigger.new_objects()  # what the session's other tests left under input/ is not the smoke's to process
    trigger.start()
    try:
        yield
    finally:
        trigger.stop()
        trigger.join(5)


@pytest.mark.process
def test_in_jwt_mode_another_callers_job_is_refused(app_in_mode, handlers, embedded_s3, s3):
    """`API_AUTH=jwt make run`, assembled in this process (its gateway, the app, the S3 trigger), and
    two users' tokens: the smoke checks the API's guarded routes and that B cannot see A's job."""
    gateway = LocalJwtAuthorizer(app_in_mode("jwt"))
    before = every_version(s3)
    with s3_trigger(handlers, s3), served(gateway) as api:
        status, checks, printed = run_smoke(
            {
                **LOCAL_AWS_ENV,
                "AWS_ENDPOINT_URL_S3": embedded_s3.endpoint,
                "API": api,
                "BUCKET": LOCAL_BUCKET,
                "TOKEN": gateway.token_for("smoke-user-a"),
                "OTHER_TOKEN": gateway.token_for("smoke-user-b"),
                "ORIGIN": "https://app.example.com",  # one of the session's FRONTEND_URL origins
            }
        )
    print(printed)
    assert status == 0, printed
    assert all(result == "ok" for result, _ in checks.values()), printed
    assert checks["a caller with no credentials"][1] == "a POST /uploads with no credentials: 401"
    assert "404 for another (job_not_found)" in checks["JWT callers kept apart"][1]
    assert every_version(s3) == before, "the smoke left objects behind"


class SigV4Gateway:
    """API Gateway's AWS_IAM authorizer in front of the app, as far as a test can be it: the signature of
    each guarded request, as it arrived, is recomputed with the example secret; a good one is vouched
    for in the event, anything else is API Gateway's 403."""

    def __init__(self, app):
        self.app = app
        self.verified = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        target = scope["raw_path"].decode() + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        if not sigv4_signature_is_valid(scope["method"], target, headers, body):
            await send(
                {"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": b'{"message":"Forbidden"}'})
            return
        self.verified += 1

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        event = {"requestContext": {"authorizer": iam_authorizer()}}
        await self.app({**scope, "aws.event": event}, replay, send)


@pytest.mark.process
def test_in_iam_mode_every_request_is_signed_as_api_gateway_checks_it(app_in_mode, handlers, embedded_s3, s3):
    """AUTH=iam: each request the smoke sends is SigV4-signed with the caller's AWS credentials, and the
    signature holds for the request as it arrived (query with a presigned URL in it, body and all)."""
    gateway = SigV4Gateway(app_in_mode("iam"))
    before = every_version(s3)
    with s3_trigger(handlers, s3), served(gateway) as api:
        status, checks, printed = run_smoke(
            {
                **EXAMPLE_CREDENTIALS,
                "AWS_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_ENDPOINT_URL_S3": embedded_s3.endpoint,
                "API": api,
                "BUCKET": LOCAL_BUCKET,
                "AUTH": "iam",
                "ORIGIN": "http://localhost:3000",  # the page signs with x-amz-* headers: preflighted
            }
        )
    print(printed)
    assert status == 0, printed
    assert [name for name, (result, _) in checks.items() if result != "ok"] == ["JWT callers kept apart"], printed
    assert checks["a caller with no credentials"][1] == "a POST /uploads with no credentials: 403"
    assert gateway.verified >= 4  # two /remove-bg, /uploads and at least one GET /jobs/{id}
    assert every_version(s3) == before, "the smoke left objects behind"


def test_the_shipped_photo_is_a_small_real_photo():
    photo = (ROOT / "local" / "smoke-photo.jpg").read_bytes()

    assert 20_000 < len(photo) < 80_000
    assert open_image(photo).format == "JPEG"


def test_the_stack_outputs_the_smoke_reads_exist():
    from tests.unit.test_template import template_dict

    template = template_dict()

    assert {"ApiUrl", "BucketName", "ApiAuthMode", "CorsOrigins"} <= set(template["Outputs"])
    assert template["Outputs"]["CorsOrigins"]["Condition"] == "HasFrontendUrl"  # an empty output cannot deploy
    assert {"InputPrefix", "OutputPrefix", "FailedPrefix", "ApiAuth"} <= set(template["Parameters"])
