"""An S3 endpoint on 127.0.0.1 (moto's server mode) for local runs and tests.

It speaks the real S3 HTTP protocol, so the function's boto3 code and presigned URLs work
unchanged; the function finds it through boto3's own AWS_ENDPOINT_URL_S3.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

LOCAL_BUCKET = "local-bucket"
# moto accepts any credentials; fixed ones keep a developer's real AWS profile out of local runs.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class EmbeddedS3:
    def __init__(self, port: int = 0):
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
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
        # As the template's rule: the page fetches results parked here (from any origin, locally).
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 600},
        ]})
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
