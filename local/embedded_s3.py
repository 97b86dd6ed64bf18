"""An S3 endpoint on 127.0.0.1 (moto's server mode) for local runs and tests.

It speaks the real S3 HTTP protocol, so the function's boto3 code and presigned URLs work
unchanged; the function finds it through boto3's own AWS_ENDPOINT_URL_S3.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.formparser import parse_form_data
from werkzeug.serving import make_server

LOCAL_BUCKET = "local-bucket"
# moto accepts any credentials; fixed ones keep a developer's real AWS profile out of local runs.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


# Form fields S3 leaves out of a POST policy's conditions (besides x-ignore-*).
UNCONDITIONED_FIELDS = {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}


def post_policy_violation(form: dict[str, str], size: int, bucket: str) -> tuple[int, str, str] | None:
    """What S3 answers a browser-form POST that strays from its signed policy: (status, code, message),
    or None when the POST keeps to it. The signature itself is not checked (moto takes any key)."""
    policy = json.loads(base64.b64decode(form.get("policy", "")))
    fields = {name.lower(): value for name, value in form.items()} | {"bucket": bucket}
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) < datetime.now(UTC):
        return 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    conditioned = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            condition = ["eq", f"${name}", value]
        operator, name, *arguments = condition
        if operator == "content-length-range":
            low, high = name, arguments[0]
            if not low <= size <= high:
                code = "EntityTooLarge" if size > high else "EntityTooSmall"
                return 400, code, f"Your proposed upload is {size} bytes; the policy allows {low} to {high}"
            continue
        name = name.lstrip("$").lower()
        conditioned.add(name)
        given = fields.get(name, "")
        if (operator == "eq" and given != arguments[0]) or (
            operator == "starts-with" and not given.startswith(arguments[0])
        ):
            return 403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
    extra = [
        name
        for name in fields
        if name not in conditioned | UNCONDITIONED_FIELDS | {"bucket"} and not name.startswith("x-ignore-")
    ]
    if extra:
        return 403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}"
    return None


class PostPolicyCheck:
    """moto stores a presigned POST without checking its policy; S3 refuses one that strays from it
    (size, key, fields, expiry). This WSGI layer refuses the same POSTs the same way, so local runs
    and tests see S3's answer. Hand-written: no library enforces POST policies."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or not environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        _, form, files = parse_form_data({**environ, "wsgi.input": io.BytesIO(body)})
        upload = files.get("file")
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        if "policy" not in form or upload is None:
            return self.app(environ, start_response)
        bucket = environ["PATH_INFO"].strip("/").split("/")[0]
        refused = post_policy_violation(form.to_dict(), len(upload.read()), bucket)
        if refused is None:
            return self.app(environ, start_response)
        status, code, message = refused
        xml = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        start_response(f"{status} {code}", [("Content-Type", "application/xml"), *cors_of(environ)])
        return [xml.encode()]


def cors_of(environ) -> list[tuple[str, str]]:
    """A refusal a page can read, as S3's carries the bucket's CORS headers."""
    origin = environ.get("HTTP_ORIGIN")
    return [("Access-Control-Allow-Origin", origin)] if origin else []


class PolicyCheckingMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:  # as moto's own, with the policy check in front
        app = PostPolicyCheck(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class EmbeddedS3:
    def __init__(self, port: int = 0):
        self._server = PolicyCheckingMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint: str | None = None

    def start(self) -> str:
        # moto's server logs every request through werkzeug; keep local output readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()

    def environment(self, bucket: str = LOCAL_BUCKET) -> dict[str, str]:
        """The variables that point boto3 (and the function's settings) at this server."""
        return {**LOCAL_AWS_ENV, "AWS_ENDPOINT_URL_S3": self.endpoint or "", "AWS_BUCKET_NAME": bucket}

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=LOCAL_AWS_ENV["AWS_REGION"],
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, bucket: str = LOCAL_BUCKET, versioned: bool = False) -> str:
        client = self.client()
        client.create_bucket(Bucket=bucket)
        # As the template's rule: the page fetches results parked here and POSTs large photos
        # (presigned), from any origin locally.
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {"AllowedMethods": ["GET", "HEAD", "POST"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 600},
                ]
            },
        )
        if versioned:
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        return bucket


def sample_photo() -> bytes:
    """A real photo to try the service on: scikit-image's astronaut (512x512) as JPEG."""
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def put_sample(client, bucket: str, key: str, expires_in: int = 3600) -> str:
    """Put the sample photo at `key` and return a presigned GET URL of it."""
    client.put_object(Bucket=bucket, Key=key, Body=sample_photo(), ContentType="image/jpeg")
    return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in)


def start_local_aws(port: int = 0) -> EmbeddedS3:
    """Start the embedded S3 with its bucket and point this process's function settings at it."""
    s3 = EmbeddedS3(port=port)
    s3.start()
    s3.create_bucket(LOCAL_BUCKET)
    os.environ.update(s3.environment(LOCAL_BUCKET))
    os.environ.setdefault("MODEL_NAME", "u2netp")
    os.environ.setdefault("U2NET_HOME", str(Path(__file__).resolve().parents[1] / "models"))
    return s3
