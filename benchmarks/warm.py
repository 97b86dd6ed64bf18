"""Warm latency of both entry points against rembg.remove, for one model, in this process.

    python -m benchmarks.warm MODEL SIZE_MP... --repetitions N    # prints a "ROW {json}" line per size

benchmarks.run starts one such process per model (a process holds one default model, as on
Lambda). Per repetition every step runs once, in turn (ours, rembg, ours, ...); the first
repetition warms up and is discarded; rows report medians. The reference is rembg as its users
run it: `rembg.remove(bytes, session=rembg.new_session(model))`, rembg's own session options.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time

from benchmarks.common import BUCKET, PUBLIC, WORK, median, photo_jpeg

# The benchmark's own app: no 303 detour, so both sides produce and return the PNG bytes.
BENCH_MAX_RESPONSE_BYTES = 1 << 30
ROW = "ROW "


def _start(model: str):
    from benchmarks.common import model_home
    from local.embedded_s3 import EmbeddedS3

    os.environ.setdefault("NUMBA_CACHE_DIR", str(WORK / "numba-host"))  # rembg.remove imports pymatting
    home = model_home()
    s3 = EmbeddedS3()
    s3.start()
    s3.create_bucket(BUCKET, versioned=True)
    os.environ.update({**s3.environment(BUCKET), "MODEL_NAME": model, "U2NET_HOME": str(home), "API_AUTH": PUBLIC})
    return s3


def measure(model: str, sizes: list[float], repetitions: int) -> list[dict]:
    s3 = _start(model)
    try:
        import rembg
        from mangum import Mangum

        import function.handlers as handlers  # the real entry points, as Lambda imports them
        from function.http.app import create_app
        from function.settings import Settings

        bench_http = Mangum(
            create_app(Settings(max_response_bytes=BENCH_MAX_RESPONSE_BYTES), handlers.models, handlers.store),
            lifespan="off",
        )
        session = rembg.new_session(model)  # rembg's own: its options, its own copy of the model
        return [
            _size(
                model,
                megapixels,
                repetitions if megapixels <= 2 else max(2, repetitions - 2),
                handlers,
                bench_http,
                session,
                s3.client(),
            )
            for megapixels in sizes
        ]
    finally:
        s3.stop()


def _size(model, megapixels, repetitions, handlers, bench_http, session, client) -> dict:
    import rembg

    from local.events import LocalLambdaContext, s3_notification
    from tests.support import http_api_event, response_body

    photo = photo_jpeg(megapixels)
    event = http_api_event(body=photo, headers={"content-type": "image/jpeg"})
    ours_model = handlers.model
    model_input = ours_model.model_input(_decoded(photo))
    times: dict[str, list[float]] = {k: [] for k in ("http", "ref_http", "s3", "ref_s3", "run", "real")}
    sizes: dict[str, int] = {}
    real_status = None

    def reference_http():
        data = base64.b64decode(event["body"])  # what Mangum does to a binary body
        return base64.b64encode(rembg.remove(data, session=session)).decode()  # and to a binary response

    for rep in range(repetitions + 1):  # the first round warms up and is discarded
        key = f"input/warm-{model}-{megapixels}-{rep}-{time.time_ns()}.jpg"
        ref_key = key.replace("input/", "reference-in/")
        for k in (key, ref_key):
            client.put_object(Bucket=BUCKET, Key=k, Body=photo)

        def ours_s3(key=key):
            result = handlers.s3_handler(s3_notification(BUCKET, [key]), LocalLambdaContext())
            assert result["processed"] == 1, result

        def reference_s3(ref_key=ref_key):
            data = client.get_object(Bucket=BUCKET, Key=ref_key)["Body"].read()
            client.put_object(
                Bucket=BUCKET,
                Key=ref_key.replace("reference-in/", "reference-out/"),
                Body=rembg.remove(data, session=session),
                ContentType="image/png",
            )

        steps = {
            "http": lambda: bench_http(event, None),
            "ref_http": reference_http,
            "s3": ours_s3,
            "ref_s3": reference_s3,
            "run": lambda: ours_model._session.run(None, model_input),
            "real": lambda: handlers.http_handler(event, LocalLambdaContext()),
        }
        for name, step in steps.items():
            started = time.perf_counter()
            result = step()
            elapsed = time.perf_counter() - started
            if rep:
                times[name].append(elapsed)
            if name == "http":
                assert result["statusCode"] == 200, result.get("body", "")[:300]
                sizes["ours"] = len(response_body(result))
            elif name == "ref_http":
                sizes["rembg"] = len(base64.b64decode(result))
            elif name == "real":
                real_status = result["statusCode"]
    return {
        "model": model,
        "megapixels": megapixels,
        "n": len(times["http"]),
        "real_status": real_status,
        **{name: median(values) for name, values in times.items()},
        **{f"bytes_{k}": v for k, v in sizes.items()},
    }


def _decoded(photo: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(photo))
    image.load()
    return image.convert("RGB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("sizes", nargs="+", type=float)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(argv)
    for row in measure(args.model, args.sizes, args.repetitions):
        print(ROW + json.dumps(row), flush=True)  # marked: the function logs JSON lines to stdout too
    return 0


if __name__ == "__main__":
    sys.exit(main())
