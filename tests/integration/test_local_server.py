"""A developer runs the service locally (uvicorn, as `make run` does) and calls it over real HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support import assert_astronaut_cutout, open_image


@pytest.fixture
def api(live_api):
    return live_api


def test_raw_upload_over_http(api, photo):
    response = requests.post(f"{api}/remove-bg", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=30)

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert_astronaut_cutout(open_image(response.content))


def test_multipart_upload_over_http(api, photo):
    response = requests.post(f"{api}/remove-bg", files={"file": ("me.jpg", photo, "image/jpeg")}, timeout=30)

    assert response.status_code == 200
    assert_astronaut_cutout(open_image(response.content))


def test_presigned_url_over_http(api, s3, bucket, photo):
    s3.put_object(Bucket=bucket, Key="input/over-http.jpg", Body=photo)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "input/over-http.jpg"})

    response = requests.post(f"{api}/remove-bg", params={"image_url": url, "format": "webp"}, timeout=30)

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert open_image(response.content).size == (512, 512)


def test_cors_lets_the_configured_frontend_call_and_read_the_headers(api, photo):
    origin = "https://app.example.com"
    preflight = requests.options(
        f"{api}/remove-bg",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    response = requests.post(
        f"{api}/remove-bg", data=photo, headers={"Content-Type": "image/jpeg", "Origin": origin}, timeout=30
    )
    stranger = requests.options(
        f"{api}/remove-bg",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-origin"] == origin
    assert "X-Foreground-Width" in response.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in stranger.headers


def test_oversized_chunked_upload_is_cut_off(api, handlers):
    limit = handlers.settings.max_input_bytes

    def chunks():
        block = b"\xff" * (1 << 20)
        for _ in range(limit // len(block) + 2):
            yield block

    response = requests.post(f"{api}/remove-bg", data=chunks(), headers={"Content-Type": "image/jpeg"}, timeout=30)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "input_too_large"


@pytest.mark.process
@pytest.mark.parametrize("variable", ["PORT", "LOCAL_S3_PORT"])
def test_make_run_stops_and_names_the_variable_when_a_port_is_taken(variable):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"PORT": "0", "LOCAL_S3_PORT": "0", variable: str(taken)}

        # The timeout only guards the test run: before the fix, a taken S3 port waited forever.
        done = subprocess.run(
            [sys.executable, "-m", "local.run"],
            env={**os.environ, "API_AUTH": "none", **ports},  # the session's lambda_env says iam
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[2],
        )

    assert done.returncode != 0
    assert f"port {taken}" in done.stderr and f"{variable}=" in done.stderr


@pytest.mark.process
def test_every_example_make_run_prints_works_as_printed(tmp_path):
    """A newcomer runs `make run` and pastes its whole "Try it" block into a shell in another folder."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "API_AUTH": "none", "PORT": "18144", "LOCAL_S3_PORT": "18145"}
    server = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        printed = []
        for line in server.stdout:
            printed.append(line)
            if line.strip().startswith("sleep 3;"):  # the block's last line
                break
        block = "".join(printed).split("Try it", 1)[1].split("\n", 1)[1]
        lines = [line[2:] for line in block.splitlines() if line.startswith("  ")]
        has_aws_cli = shutil.which("aws") is not None  # the S3 drop's lines need it; the rest need curl and jq
        script = "\n".join(line for line in lines if has_aws_cli or " aws " not in line)
        for _ in range(100):  # the examples are printed just before uvicorn starts listening
            try:
                requests.get("http://127.0.0.1:18144/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=tmp_path, env=os.environ, capture_output=True, text=True, timeout=300
        )
    finally:
        server.terminate()
        server.wait(30)

    assert done.returncode == 0, (script, done.stdout, done.stderr)
    assert_astronaut_cutout(open_image((tmp_path / "cutout.png").read_bytes()))
    assert_astronaut_cutout(open_image((tmp_path / "sample-cutout.png").read_bytes()))
    assert '"status":"done"' in (tmp_path / "job.json").read_text().replace(" ", "")
    assert "output/photo.webp" in done.stdout or not has_aws_cli
