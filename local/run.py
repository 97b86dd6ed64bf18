"""`make run`: the service on http://127.0.0.1:8090 over an embedded S3, offline.

PORT (8090) and LOCAL_S3_PORT (8091) choose the two ports.

The same `function.handlers` module Lambda imports is served by uvicorn, with the local
u2netp model and a moto S3 server standing in for AWS; objects put under the input prefix
are processed by `s3_handler` as the S3 trigger would (see local/s3_trigger.py).

It is public (API_AUTH=none) unless told otherwise: `API_AUTH=jwt make run` puts the emulated
JWT authorizer of local/gateway.py in front and prints a token for a local user. API_AUTH=iam
needs API Gateway to check signatures, so it is refused here.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import sys
from pathlib import Path

from function.runtime.coldstart import cache_is_baked
from function.settings import SettingsError, load_settings
from local.embedded_s3 import LOCAL_BUCKET, SAMPLE_PHOTO, EmbeddedS3, put_sample, start_local_aws
from local.s3_trigger import InputPrefixPoller

SAMPLE_KEY = "input/sample.jpg"
PRESIGN_SECONDS = 7 * 24 * 3600
LOCAL_USER = "local-user"  # the sub of the token `API_AUTH=jwt make run` prints


def examples(s3: EmbeddedS3, api: str, token: str | None) -> str:
    """What `make run` prints: shell lines that work as printed, pasted in any folder (tests run them).

    They set API (and URL, TOKEN) as the README's blocks expect, and copy the sample photo in as photo.jpg."""
    client = s3.client()
    url = put_sample(client, LOCAL_BUCKET, SAMPLE_KEY, PRESIGN_SECONDS)
    s3_cli = f"AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url {s3.endpoint} s3"
    bearer = '-H "Authorization: Bearer $TOKEN" ' if token else ""
    if token:
        put_sample(client, LOCAL_BUCKET, f"input/{LOCAL_USER}/sample.jpg")
        keys = f"""  # read your object under input/{LOCAL_USER}/ and store the result under results/{LOCAL_USER}/
  curl -sS --fail-with-body -d '' {bearer}"$API/remove-bg?image_key=sample.jpg&output_key=my-cutout.png&overwrite=true"
  # the page at {api}/ takes the token in its "Bearer token" field
"""
    else:
        keys = "  # image_key and output_key need a caller: API_AUTH=jwt make run\n"
    return f"""
Background removal is running at {api}  (docs: {api}/docs)  API_AUTH={"jwt" if token else "none"}
Embedded S3: {s3.endpoint}  bucket {LOCAL_BUCKET!r}  (sample photo at s3://{LOCAL_BUCKET}/{SAMPLE_KEY})

Try it (paste into a shell, in any folder; the README's examples take the same API, URL and photo.jpg):
  API={api}
  URL={shlex.quote(url)}
{f"  TOKEN='{token}'  # {LOCAL_USER}'s, valid 7 days" + chr(10) if token else ""}  cp {shlex.quote(str(SAMPLE_PHOTO))} photo.jpg   # a sample photo (512x512)
  # upload a photo, get a transparent PNG back (-L follows a large result to the bucket)
  curl -sS -L --fail-with-body {bearer}-F file=@photo.jpg "$API/remove-bg" -o cutout.png || cat cutout.png
  # the old service's contract: a presigned S3 URL
  curl -sS -L --fail-with-body -d '' {bearer}--url-query "image_url=$URL" "$API/remove-bg" -o sample-cutout.png || cat sample-cutout.png
{keys}  # a photo over ~4.4 MB (a request body's cap on AWS): straight to the bucket, then poll the job (needs jq)
  curl -sS --fail-with-body -d '' {bearer}"$API/uploads?content_type=image/jpeg" -o ticket.json
  curl -sS --fail-with-body $(jq -r '.upload.fields | to_entries[] | "--form-string \\(.key)=\\(.value)"' ticket.json) -F file=@photo.jpg "$(jq -r .upload.url ticket.json)"
  while curl -sS --fail-with-body {bearer}"$API/jobs/$(jq -r .id ticket.json)" | tee job.json | grep -q '"pending"'; do sleep 1; done; cat job.json
  # the S3 pipeline (needs the AWS CLI): drop a file under input/, its cutout appears under output/
  # (options as metadata: this one comes out as output/photo.webp on white)
  {s3_cli} cp photo.jpg s3://{LOCAL_BUCKET}/input/photo.jpg --metadata format=webp,bgcolor=ffffff
  sleep 3; {s3_cli} ls --recursive s3://{LOCAL_BUCKET}/output/
"""


def local_numba_cache() -> Path:
    """Where `make setup` bakes alpha matting's numba kernels: in the venv they were compiled for."""
    return Path(sys.prefix) / "numba-cache"


def use_baked_numba_cache() -> None:
    """Point numba at `make setup`'s baked cache (before anything imports it), with the CPU name it was
    baked for; without one, say that the first matting request compiles."""
    cache = local_numba_cache()
    if cache_is_baked(cache):
        os.environ.setdefault("NUMBA_CACHE_DIR", str(cache))
        os.environ.setdefault("NUMBA_CPU_NAME", "generic")
    else:
        print(
            f"note: no numba cache at {cache}: the first alpha matting request compiles (~35-80 s); make setup bakes it"
        )


def refuse_taken_ports(ports: dict[str, int]) -> None:
    """Exit naming the port and its variable: moto's server thread dies silently on a taken port
    and leaves `make run` waiting forever, and uvicorn would only fail after the model loads."""
    chosen = [port for port in ports.values() if port]  # 0: any free port
    if len(set(chosen)) < len(chosen):
        raise SystemExit(f"make run: {' and '.join(ports)} must differ (both are {chosen[0]})")
    for variable, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no obstacle
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise SystemExit(
                    f"make run: port {port} on 127.0.0.1 is taken ({error.strerror}); stop what holds it, "
                    f"or choose another port: {variable}={port + 10} make run"
                ) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8090)))
    parser.add_argument("--s3-port", type=int, default=int(os.environ.get("LOCAL_S3_PORT", 8091)))
    args = parser.parse_args(argv)
    # Set before function.handlers reads its settings. Without API Gateway there is no identity,
    # so the deployed default (iam) would refuse every request: a local run is public by default.
    mode = os.environ.setdefault("API_AUTH", "none").lower()
    if mode == "iam":
        parser.error("API_AUTH=iam needs API Gateway to check SigV4 signatures; run with API_AUTH=none or API_AUTH=jwt")
    use_baked_numba_cache()
    try:  # a bad variable is one line naming it, before anything starts
        load_settings()
    except SettingsError as error:
        raise SystemExit(f"make run: {error}") from None
    refuse_taken_ports({"PORT": args.port, "LOCAL_S3_PORT": args.s3_port})

    s3 = start_local_aws(args.s3_port)
    import uvicorn

    from function import handlers
    from local.gateway import LocalJwtAuthorizer

    app, token = handlers.app, None
    if mode == "jwt":
        app = LocalJwtAuthorizer(handlers.app)
        token = app.token_for(LOCAL_USER, lifetime=PRESIGN_SECONDS)
    trigger = InputPrefixPoller(s3.client(), LOCAL_BUCKET, handlers.settings.input_prefix, handlers.s3_handler)
    trigger.start()
    print(examples(s3, f"http://127.0.0.1:{args.port}", token), flush=True)
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")
    finally:
        trigger.stop()
        s3.stop()


if __name__ == "__main__":
    main()
