"""Cold start, in the Lambda-like sandbox: our entry points against the bare floor, both models.

Every run is a fresh process in benchmarks/sandbox.py (read-only root, fresh /tmp, the
Dockerfile's environment plus the _HANDLER Lambda sets). Per round, for each model: the floor,
`http_handler`, `s3_handler` one after the other, so background load hits them alike; cells are
medians over rounds. The floor is the least any implementation can do: import onnxruntime,
numpy and Pillow, create the session from rembg's model file, decode the photo, run the model
once, write the cutout as PNG. It runs the model with the same onnxruntime settings as ours
(threads, no spinning), so the ratio counts what our code adds around the model, not how
background load on shared cores treats spinning threads. rembg as deployed before this project
(an empty numba cache in /tmp, so pymatting compiles) runs once per model, first round (~40 s each).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import (
    BUCKET,
    MODELS,
    PUBLIC,
    WORK,
    Table,
    median,
    model_home,
    photo_jpeg,
    photo_path,
    ratio,
    seconds,
)

# Both entry points start the same way: load the event, import the handlers (init), and mark
# the first inference. The Lambda context class stands in for the runtime's own object.
_OURS_START = """
import base64, json, resource
from local.events import LocalLambdaContext
event = json.load(open({event!r}))
import function.handlers as handlers; mark("init")
_small_mask = handlers.model.small_mask
def _marked(image):
    result = _small_mask(image); mark("first_inference"); return result
handlers.model.small_mask = _marked
"""
_CPU = "usage = resource.getrusage(resource.RUSAGE_SELF); cpu = usage.ru_utime + usage.ru_stime\n"
_OURS_HTTP = (
    _OURS_START
    + """
response = handlers.http_handler(event, LocalLambdaContext()); mark("first_answer")
"""
    + _CPU
    + """
ok = response["statusCode"] == 200 and base64.b64decode(response["body"])[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
print(json.dumps({{"ok": ok, "cpu": cpu}}))
"""
)
_OURS_S3 = (
    _OURS_START
    + """
result = handlers.s3_handler(event, LocalLambdaContext()); mark("first_answer")
"""
    + _CPU
    + """
print(json.dumps({{"ok": result["processed"] == 1, "cpu": cpu}}))
"""
)
FLOOR = (
    """
import json, numpy as np, onnxruntime as ort, resource
from PIL import Image
options = ort.SessionOptions(); options.intra_op_num_threads = {threads}; options.enable_mem_pattern = False
options.add_session_config_entry("session.intra_op.allow_spinning", "0")
session = ort.InferenceSession({model!r}, options, providers=["CPUExecutionProvider"]); mark("init")
image = Image.open({photo!r}).convert("RGB")
small = np.asarray(image.resize((320, 320), Image.Resampling.LANCZOS), np.float32) / 255.0
x = ((small - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)).astype(np.float32).transpose(2, 0, 1)[None]
pred = session.run(None, {{session.get_inputs()[0].name: x}})[0][0, 0]; mark("first_inference")
pred = (pred - pred.min()) / (pred.max() - pred.min())
image.putalpha(Image.fromarray((pred * 255).astype(np.uint8)).resize(image.size, Image.Resampling.LANCZOS))
image.save("/tmp/cutout.png"); mark("first_answer")
"""
    + _CPU
    + """
print(json.dumps({{"ok": True, "cpu": cpu}}))
"""
)
# rembg as deployed before: a writable but empty numba cache dir, so pymatting compiles.
REMBG = (
    """
import json, resource
data = open({photo!r}, "rb").read()
import rembg; mark("init")
session = rembg.new_session({model_name!r})
_predict = session.predict
def _marked(*args, **kwargs):
    result = _predict(*args, **kwargs); mark("first_inference"); return result
session.predict = _marked
out = rembg.remove(data, session=session); mark("first_answer")
"""
    + _CPU
    + """
print(json.dumps({{"ok": out[:4] == b"\\x89PNG", "cpu": cpu}}))
"""
)
ENTRY_POINTS = {"http": "function.handlers.http_handler", "s3": "function.handlers.s3_handler"}


def _events(s3_client, photo: bytes, run: int) -> dict[str, Path]:
    from local.events import http_api_event, s3_notification

    http_event, s3_event = WORK / "cold-http-event.json", WORK / "cold-s3-event.json"
    http_event.write_text(json.dumps(http_api_event(body=photo, headers={"content-type": "image/jpeg"})))
    key = f"input/cold-{run}-{time.time_ns()}.jpg"  # new each time: a processed key would be skipped
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=photo)
    s3_event.write_text(json.dumps(s3_notification(BUCKET, [key])))
    return {"http": http_event, "s3": s3_event}


def measure(runs: int, with_reference: bool, baked: Path, models: tuple[str, ...] = MODELS) -> dict:
    """{(model, job): [marks + cpu, ...]} for job in floor, http, s3 (and rembg)."""
    from benchmarks.sandbox import lambda_env, run_in_sandbox
    from function.imaging.model import usable_cpus
    from local.embedded_s3 import EmbeddedS3

    home, photo = model_home(), photo_jpeg(0.25)
    s3 = EmbeddedS3()
    s3.start()
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        s3.create_bucket(BUCKET, versioned=True)
        client = s3.client()
        for run in range(runs):
            for model in models:
                env = lambda_env(
                    baked_cache=baked, model_home=home, MODEL_NAME=model, API_AUTH=PUBLIC, **s3.environment(BUCKET)
                )
                events = _events(client, photo, run)
                floor = FLOOR.format(
                    model=str(home / f"{model}.onnx"), photo=str(photo_path(0.25)), threads=usable_cpus()
                )
                jobs = [("floor", floor, env)]
                jobs += [
                    (
                        entry,
                        (_OURS_HTTP if entry == "http" else _OURS_S3).format(event=str(events[entry])),
                        {**env, "_HANDLER": handler},
                    )
                    for entry, handler in ENTRY_POINTS.items()
                ]
                if with_reference and run == 0:
                    jobs.append(
                        (
                            "rembg",
                            REMBG.format(photo=str(photo_path(0.25)), model_name=model),
                            lambda_env(model_home=home, NUMBA_CACHE_DIR="/tmp/numba_x"),
                        )
                    )
                for job, code, job_env in jobs:
                    result = run_in_sandbox(code, job_env)
                    report = json.loads(result.output.strip().splitlines()[-1]) if result.returncode == 0 else {}
                    if not report.get("ok"):
                        raise RuntimeError(f"cold start {model} {job} failed:\n{result.describe()}")
                    results.setdefault((model, job), []).append({**result.marks, "cpu": report["cpu"]})
    finally:
        s3.stop()
    return results


def table(results: dict, models: tuple[str, ...] = MODELS) -> Table:
    out = Table(
        "Cold start (Lambda-like sandbox, 0.25 MP photo): seconds from process start, medians",
        "model",
        "entry point",
        "first answer",
        "floor",
        "ratio to floor",
        "init done",
        "first inference",
        "CPU s (floor)",
        "rembg as deployed (n=1)",
    )
    for model in models:
        floor = results[(model, "floor")]
        floor_answer = median(m["first_answer"] for m in floor)
        rembg = results.get((model, "rembg"))
        for entry in ENTRY_POINTS:
            marks = results[(model, entry)]
            answer = median(m["first_answer"] for m in marks)
            out.add(
                model,
                f"{entry.upper()} (n={len(marks)})",
                seconds(answer),
                seconds(floor_answer),
                ratio(answer, floor_answer),
                seconds(median(m["init"] for m in marks)),
                seconds(median(m["first_inference"] for m in marks)),
                f"{median(m['cpu'] for m in marks):.2f} ({median(m['cpu'] for m in floor):.2f})",
                seconds(rembg[0]["first_answer"]) if rembg else "skipped",
            )
    return out
