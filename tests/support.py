"""Shared test vocabulary: real photos, API Gateway events, and what a good cutout looks like."""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import uvicorn
from botocore.awsrequest import AWSResponse
from PIL import Image
from skimage import data as skdata

from local import events
from local.events import LocalLambdaContext as lambda_context  # noqa: F401 (re-export)
from local.events import s3_notification


def jpeg_bytes(array: np.ndarray | None = None, quality: int = 90, **save_args) -> bytes:
    """A real photo (scikit-image's astronaut, 512x512) as JPEG bytes."""
    image = Image.fromarray(skdata.astronaut() if array is None else array)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **save_args)
    return buffer.getvalue()


@functools.lru_cache(maxsize=4)
def phone_photo(fmt: str) -> bytes:
    """The astronaut as a phone saves it in `fmt` ("HEIF" for HEIC, "AVIF"): the sensor's pixels
    lying on their side, with the orientation (irot) that turns them upright."""
    from function.imaging.heif import register_heif_opener

    register_heif_opener()  # pillow-heif's HEIC encoder
    exif = Image.Exif()
    exif[0x0112] = 6  # as bytes, the encoders turn it into the container's own rotation
    sideways = Image.fromarray(skdata.astronaut()).transpose(Image.Transpose.ROTATE_90)
    buffer = io.BytesIO()
    sideways.save(buffer, fmt, quality=85, exif=exif.tobytes())
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def large_phone_photo() -> bytes:
    """An 8 MB, 24 MP (6000x4000) JPEG as a phone takes it: scikit-image's cat upscaled, with sensor
    noise (which is what makes real photos that large), saved at high quality."""
    noise = np.random.default_rng(7).normal(0, 8, (4000, 6000, 3))
    upscaled = np.asarray(Image.fromarray(skdata.chelsea()).resize((6000, 4000), Image.Resampling.BICUBIC))
    return jpeg_bytes(np.clip(upscaled + noise, 0, 255).astype(np.uint8), quality=93)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def open_image(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def assert_astronaut_cutout(image: Image.Image, size=(512, 512)) -> None:
    """The person is kept (opaque face and suit) and the sky behind is gone (transparent)."""
    assert image.mode == "RGBA"
    assert image.size == size
    alpha = np.asarray(image)[:, :, 3]
    assert alpha[0, 0] < 10 and alpha[0, -1] < 10, "top corners are background"
    assert alpha[200:260, 180:260].mean() > 230, "the face is foreground"
    opaque = (alpha > 128).mean()
    assert 0.3 < opaque < 0.8, f"{opaque:.0%} opaque: not a person-sized subject"


SIGNER_ARN = "arn:aws:iam::123456789012:user/tester"


def iam_authorizer(arn: str = SIGNER_ARN) -> dict:
    """What API Gateway's IAM authorizer puts in requestContext.authorizer for a SigV4-signed request."""
    account = arn.split(":")[4]
    return {
        "iam": {
            "accessKey": "AKIAEXAMPLE",
            "accountId": account,
            "callerId": "AIDAEXAMPLE",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": arn,
            "userId": "AIDAEXAMPLE",
        }
    }


def jwt_authorizer(sub: str, **claims) -> dict:
    """What API Gateway's JWT authorizer puts in requestContext.authorizer for a valid bearer token."""
    return {"jwt": {"claims": {"sub": sub, "iss": "https://issuer.example", "aud": "client", **claims}, "scopes": None}}


SIGNED = iam_authorizer()  # the deployed default (ApiAuth=AWS_IAM): a signed caller


def http_api_event(*args, authorizer: dict | None = SIGNED, **kwargs) -> dict:
    """local.events.http_api_event, by default for a SigV4-signed caller (the deployed default);
    `authorizer=None` for a request no authorizer vouched for."""
    return events.http_api_event(*args, authorizer=authorizer, **kwargs)


def behind_gateway(app, authorizer: dict = SIGNED):
    """An ASGI app as it sees requests behind API Gateway's authorizer (Mangum puts the event in
    `scope["aws.event"]`): for driving the app in process with a caller, e.g. from schemathesis."""

    async def with_caller(scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "aws.event": {"requestContext": {"authorizer": authorizer}}}
        await app(scope, receive, send)

    return with_caller


def multipart(field: str, filename: str, content: bytes, content_type: str = "image/jpeg") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def response_body(response: dict) -> bytes:
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def response_json(response: dict) -> dict:
    return json.loads(response_body(response))


def header(response: dict, name: str) -> str | None:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return headers.get(name.lower())


def s3_put_event(bucket: str, keys: list[str], etag: str = "0123456789abcdef") -> dict:
    """An S3 ObjectCreated:Put notification, keys URL-encoded the way S3 sends them."""
    return s3_notification(bucket, keys, etag=etag, size=1024)


def sqs_event(bodies: list[str]) -> dict:
    """An SQS receive-message event whose bodies are given (e.g. S3 notifications as JSON)."""
    return {
        "Records": [
            {
                "messageId": f"message-{index}",
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764072000000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:uploads",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def faulty_client(
    embedded_s3,
    failing_key: str | tuple[str, ...],
    status: int = 503,
    code: str = "SlowDown",
    operations: tuple[str, ...] = ("GetObject",),
):
    """A client of the real S3, except S3 answers `status` `code` for one object, or each of several (fault
    injection: moto enforces neither throttling nor bucket policies unless IAM is on for the whole server)."""
    client = embedded_s3.client()
    failing = (failing_key,) if isinstance(failing_key, str) else failing_key

    def fail(params, **_):
        if any(unquote(params["url_path"]).endswith("/" + key) for key in failing):
            body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
            return AWSResponse("https://s3", status, {}, None), {
                "Error": {"Code": code, "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": status, "raw": body},
            }
        return None

    for operation in operations:
        client.meta.events.register(f"before-call.s3.{operation}", fail)
    return client


def faulty_pipeline(handlers, embedded_s3, *failing_keys: str):
    """The real pipeline and S3, except S3 answers 503 SlowDown to reads of some objects."""
    from function.bucket.storage import ObjectStore
    from function.pipeline.processor import S3Pipeline

    return S3Pipeline(handlers.settings, handlers.models, ObjectStore(faulty_client(embedded_s3, failing_keys)))


@contextmanager
def served(app):
    """An ASGI app over real HTTP (uvicorn on a free loopback port): yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


# AWS's own documentation example credentials: nothing real is ever signed in the tests.
EXAMPLE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}


@contextmanager
def recording_server():
    """A loopback HTTP server that answers every POST with a tiny PNG and records (method, path, headers, body)."""
    seen: list[tuple[str, str, dict, bytes]] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.end_headers()
            self.wfile.write(b"\x89PNG\r\n\x1a\n")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        thread.join(5)


def run_signing_example(code: str, api: str, folder: Path) -> subprocess.CompletedProcess:
    """Run a documented SigV4 example (its `API = "..."` line pointed at `api`) in `folder`, with a photo.jpg
    there and the example credentials as the only ones boto3 can find."""
    (folder / "photo.jpg").write_bytes(jpeg_bytes())
    code = re.sub(r'^API = ".*"$', f'API = "{api}"', code, count=1, flags=re.M)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(EXAMPLE_CREDENTIALS, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True, timeout=60)


def sigv4_signature_is_valid(method: str, path: str, headers: dict, body: bytes) -> bool:
    """Recompute the request's SigV4 signature for execute-api with the example secret, as API Gateway would."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=(\w+)/\d{8}/([\w-]+)/execute-api/aws4_request, SignedHeaders=([\w;-]+), Signature=([0-9a-f]{64})",
        headers.get("authorization", ""),
    )
    if not match:
        return False
    access_key, region, signed, signature = match.groups()
    signed_headers = {name: headers[name] for name in signed.split(";") if name != "host"}
    request = AWSRequest(method, f"http://{headers['host']}{path}", data=body, headers=signed_headers)
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(access_key, EXAMPLE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]), "execute-api", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return access_key == EXAMPLE_CREDENTIALS["AWS_ACCESS_KEY_ID"] and expected == signature
