"""An S3 endpoint on 127.0.0.1 (moto's server mode) for local runs and tests.

It speaks the real S3 HTTP protocol, so the function's boto3 code and presigned URLs work
unchanged; the function finds it through boto3's own AWS_ENDPOINT_URL_S3.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
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


@dataclass
class FormPart:
    name: str
    is_file: bool
    data: bytearray


def form_parts(body: bytes, content_type: str) -> list[FormPart]:
    """A multipart/form-data body's parts, in the order they were sent (S3 cares about the order)."""
    _, options = parse_options_header(content_type)
    decoder = MultipartDecoder(options.get("boundary", "").encode())
    decoder.receive_data(body)
    decoder.receive_data(None)
    parts: list[FormPart] = []
    while not isinstance(event := decoder.next_event(), Epilogue | NeedData):
        if isinstance(event, Field | File):
            parts.append(FormPart(event.name, isinstance(event, File), bytearray()))
        elif isinstance(event, Data) and parts:
            parts[-1].data += event.data
    return parts


def form_refusal(parts: list[FormPart]) -> tuple[int, str, str] | None:
    """What S3 answers a form it cannot take at all: no single file, the file not last, no policy."""
    files = [part for part in parts if part.is_file or part.name == "file"]
    if len(files) != 1:
        return 400, "InvalidArgument", "POST requires exactly one file upload per request."
    if parts[-1] is not files[0]:
        # S3 ignores the fields after the file: a condition on one of them would never be met.
        return 400, "InvalidArgument", "The file must be the last field of the form."
    names = [part.name.lower() for part in parts]
    if len(set(names)) != len(names):
        return 400, "InvalidArgument", "A form field is given more than once."
    if "policy" not in names:
        return 403, "AccessDenied", "Bucket POST must contain a field named 'policy'."
    return None


def signature_refusal(form: dict[str, str], secret_key: str) -> tuple[int, str, str] | None:
    """The SigV4 POST signature (AWS: "Calculating a signature" for browser-based uploads): the hex HMAC of
    the base64 policy under the key derived from the secret, the credential's date and region, and s3."""
    fields = {name.lower(): value for name, value in form.items()}
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        return 400, "InvalidArgument", "x-amz-algorithm must be AWS4-HMAC-SHA256 (only SigV4 is checked here)."
    try:
        _, date, region, service, request = fields["x-amz-credential"].split("/")
    except (KeyError, ValueError):
        return 400, "InvalidArgument", "x-amz-credential must be <key>/<date>/<region>/s3/aws4_request."
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, request):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        return (
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    return None


def post_policy_violation(form: dict[str, str], size: int, bucket: str) -> tuple[int, str, str] | None:
    """What S3 answers a browser-form POST that strays from its signed policy: (status, code, message),
    or None when the POST keeps to it. The signature is checked apart (signature_refusal)."""
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
    """moto stores a presigned POST without checking it; S3 refuses one that is not signed with the
    caller's key, or strays from its policy (size, key, fields, expiry), or whose form it cannot read
    (no policy, not exactly one file, the file not last). This WSGI layer refuses the same POSTs the
    same way, so local runs and tests see S3's answer. Hand-written: no library enforces POST policies."""

    def __init__(self, app, secret_key: str = LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"]):
        self.app = app
        self.secret_key = secret_key

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or not environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        parts = form_parts(body, environ["CONTENT_TYPE"])
        refused = form_refusal(parts)
        if refused is None:
            form = {part.name: part.data.decode("utf-8", "replace") for part in parts if not part.is_file}
            bucket = environ["PATH_INFO"].strip("/").split("/")[0]
            # The size checked is the file part's: the one part moto stores.
            refused = signature_refusal(form, self.secret_key) or post_policy_violation(
                form, len(parts[-1].data), bucket
            )
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


# A real photo to try the service on: scikit-image's astronaut (512x512) as a JPEG, made once and
# committed, so the examples `make run` prints have a file to name.
SAMPLE_PHOTO = Path(__file__).resolve().parent / "sample.jpg"


def sample_photo() -> bytes:
    return SAMPLE_PHOTO.read_bytes()


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
