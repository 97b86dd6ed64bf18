"""`make run`: the service on http://127.0.0.1:8090 over an embedded S3, offline.

The same `function.handlers` module Lambda imports is served by uvicorn, with the local
u2netp model and a moto S3 server standing in for AWS.
"""

from __future__ import annotations

import argparse
import os
import shlex
from urllib.parse import quote
from pathlib import Path

from local.embedded_s3 import LOCAL_BUCKET, EmbeddedS3, apply_environment

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_KEY = "input/sample.jpg"
PRESIGN_SECONDS = 7 * 24 * 3600


def sample_photo() -> bytes:
    """A real photo to try the service on: scikit-image's astronaut (512x512)."""
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def start_embedded_s3(port: int) -> EmbeddedS3:
    s3 = EmbeddedS3(port=port)
    s3.start()
    s3.create_bucket(LOCAL_BUCKET)
    apply_environment(s3.environment(LOCAL_BUCKET))
    os.environ.setdefault("MODEL_NAME", "u2netp")
    os.environ.setdefault("U2NET_HOME", str(ROOT / "models"))
    return s3


def print_examples(s3: EmbeddedS3, api: str) -> None:
    client = s3.client()
    client.put_object(Bucket=LOCAL_BUCKET, Key=SAMPLE_KEY, Body=sample_photo(), ContentType="image/jpeg")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": LOCAL_BUCKET, "Key": SAMPLE_KEY}, ExpiresIn=PRESIGN_SECONDS
    )
    presigned_call = f"{api}/remove-bg?image_url=" + quote(url, safe="")
    print(
        f"""
Background removal is running at {api}  (docs: {api}/docs)
Embedded S3: {s3.endpoint}  bucket {LOCAL_BUCKET!r}  (sample photo at s3://{LOCAL_BUCKET}/{SAMPLE_KEY})

Try it:
  # upload a photo in the body, get a transparent PNG back
  curl -sS -X POST --data-binary @photo.jpg -H 'Content-Type: image/jpeg' {api}/remove-bg -o cutout.png
  # the old service's contract: a presigned S3 URL (this one works as printed)
  curl -sS -X POST {shlex.quote(presigned_call)} -o sample-cutout.png
  # read the object under input/ directly and store the result under output/
  curl -sS -X POST '{api}/remove-bg?image_key=sample.jpg&output_key=sample.png'
""",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8090)))
    parser.add_argument("--s3-port", type=int, default=int(os.environ.get("LOCAL_S3_PORT", 8091)))
    args = parser.parse_args(argv)

    s3 = start_embedded_s3(args.s3_port)
    import uvicorn

    from function.handlers import app

    print_examples(s3, f"http://127.0.0.1:{args.port}")
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")
    finally:
        s3.stop()


if __name__ == "__main__":
    main()
