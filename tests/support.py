"""Shared test vocabulary: real photos, API Gateway events, and what a good cutout looks like."""

from __future__ import annotations

import base64
import io
import json
import uuid

import numpy as np
from PIL import Image
from skimage import data as skdata

from local.events import LocalLambdaContext as lambda_context, http_api_event, s3_notification  # noqa: F401 (re-export)


def jpeg_bytes(array: np.ndarray | None = None, quality: int = 90, **save_args) -> bytes:
    """A real photo (scikit-image's astronaut, 512x512) as JPEG bytes."""
    image = Image.fromarray(skdata.astronaut() if array is None else array)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **save_args)
    return buffer.getvalue()


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


def multipart(field: str, filename: str, content: bytes, content_type: str = "image/jpeg") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
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
