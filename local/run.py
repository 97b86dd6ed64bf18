"""`make run`: the service on http://127.0.0.1:8090 over an embedded S3, offline.

The same `function.handlers` module Lambda imports is served by uvicorn, with the local
u2netp model and a moto S3 server standing in for AWS; objects put under the input prefix
are processed by `s3_handler` as the S3 trigger would (see local/s3_trigger.py).
"""

from __future__ import annotations

import argparse
import os
import shlex
from urllib.parse import quote

from local.embedded_s3 import LOCAL_BUCKET, EmbeddedS3, put_sample, start_local_aws
from local.s3_trigger import InputPrefixPoller

SAMPLE_KEY = "input/sample.jpg"
PRESIGN_SECONDS = 7 * 24 * 3600


def print_examples(s3: EmbeddedS3, api: str) -> None:
    client = s3.client()
    url = put_sample(client, LOCAL_BUCKET, SAMPLE_KEY, PRESIGN_SECONDS)
    presigned_call = f"{api}/remove-bg?image_url=" + quote(url, safe="")
    s3_cli = f"aws --endpoint-url {s3.endpoint} s3"
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
  curl -sS -X POST '{api}/remove-bg?image_key=sample.jpg&output_key=my-cutout.png'
  # the S3 pipeline (needs the AWS CLI): drop a file under input/, its cutout appears under output/
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local {s3_cli} cp photo.jpg s3://{LOCAL_BUCKET}/input/photo.jpg
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local {s3_cli} ls --recursive s3://{LOCAL_BUCKET}/output/
""",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8090)))
    parser.add_argument("--s3-port", type=int, default=int(os.environ.get("LOCAL_S3_PORT", 8091)))
    args = parser.parse_args(argv)

    s3 = start_local_aws(args.s3_port)
    import uvicorn

    from function import handlers

    trigger = InputPrefixPoller(s3.client(), LOCAL_BUCKET, handlers.settings.input_prefix, handlers.s3_handler)
    trigger.start()
    print_examples(s3, f"http://127.0.0.1:{args.port}")
    try:
        uvicorn.run(handlers.app, host="127.0.0.1", port=args.port, log_level="info")
    finally:
        trigger.stop()
        s3.stop()


if __name__ == "__main__":
    main()
