"""Seconds and dollars per 1,000 images for each Lambda memory size, measured under CPU quotas.

    python -m benchmarks.cost [--models u2net u2netp] [--memory 1024 1769 ...] [--repetitions 3]
    make bench-memory

Lambda gives CPU in proportion to memory: one vCPU at 1,769 MB. For each memory size a worker
process runs in a cgroup limited to memory/1,769 CPUs (benchmarks/cpu_limit.py) with
AWS_LAMBDA_FUNCTION_MEMORY_SIZE set, so the function sizes its threads as on Lambda. Workers
hold the real handlers (default model = the one measured) against a moto S3 in this process.
Per round every worker gets the same image and entry point in turn (one runs at a time), so
background load hits all sizes alike; the first round warms up; cells are medians.
Time on this machine's x86_64 cores prices both columns: arm64 (Graviton) cores run the model at
their own speed, so its column is the price of the same duration, to be checked on a deploy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks.common import BUCKET, PUBLIC, REPO, SHIPPED, WORK, Table, median, model_home, photo_jpeg

MB_PER_VCPU = 1769
MEMORY_SIZES_MB = (1024, 1536, 1769, 2048, 2560, 3008, 3538)  # 3538 MB = 2 vCPUs, all this machine has
SIZES_MP = (0.25, 2.0, 12.0)
ENTRY_POINTS = ("http", "s3")
# Lambda list prices, us-east-1, first pricing tier (per GB-second of duration, and per request).
PRICE_PER_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST = 0.20 / 1e6


def prices() -> str:
    return (
        f"Prices: x86_64 ${PRICE_PER_GB_S['x86_64']:.10f}/GB-s, arm64 ${PRICE_PER_GB_S['arm64']:.10f}/GB-s, "
        f"${PRICE_PER_REQUEST * 1e6:.2f} per million requests (Lambda list prices, us-east-1)"
    )


def dollars_per_1000(memory_mb: int, seconds: float, architecture: str) -> float:
    return 1000 * (memory_mb / 1024 * seconds * PRICE_PER_GB_S[architecture] + PRICE_PER_REQUEST)


# ---------------------------------------------------------------- the worker (inside a quota)


def worker() -> None:
    """Reads {"entry", "megapixels"} lines, answers {"seconds"} for one image through that entry point."""
    # Answers go to the original stdout; everything the function prints (logs, EMF) to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import function.handlers as handlers
    from benchmarks.memory import peak_mb
    from local.events import LocalLambdaContext, http_api_event, s3_notification

    client = handlers.store.client
    print(json.dumps({"ready": True}), file=answers, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        photo = photo_jpeg(command["megapixels"])
        if command["entry"] == "http":  # the deployed path: results over 4.4 MB go to S3, answered 303
            event = http_api_event(body=photo, headers={"content-type": "image/jpeg"})
            started = time.perf_counter()
            status = handlers.http_handler(event, LocalLambdaContext())["statusCode"]
            ok = status in (200, 303)
        else:
            key = f"input/cost-{os.getpid()}-{time.time_ns()}.jpg"
            client.put_object(Bucket=BUCKET, Key=key, Body=photo)
            started = time.perf_counter()
            ok = handlers.s3_handler(s3_notification(BUCKET, [key]), LocalLambdaContext())["processed"] == 1
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "ok": ok, "peak_mb": peak_mb()}), file=answers, flush=True)


# ---------------------------------------------------------------- the coordinator


class _Worker:
    def __init__(self, memory_mb: int, model: str, env: dict):
        from benchmarks.cpu_limit import CpuQuota

        self.memory_mb = memory_mb
        self.quota = CpuQuota(f"rembg-bench-{os.getpid()}-{memory_mb}", memory_mb / MB_PER_VCPU)
        env = {**env, "MODEL_NAME": model, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}
        argv = self.quota.wrap([sys.executable, "-m", "benchmarks.cost", "--worker"])
        self.log = WORK / f"cost-worker-{memory_mb}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO, env=env
            )
        self.peak_mb = 0.0
        self._read()

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"cost worker at {self.memory_mb} MB died (exit {self.process.wait()}): see {self.log}")
        return json.loads(line)

    def run(self, entry: str, megapixels: float) -> float:
        self.process.stdin.write(json.dumps({"entry": entry, "megapixels": megapixels}) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if not answer["ok"]:
            raise RuntimeError(f"cost worker at {self.memory_mb} MB: {entry} {megapixels} MP failed")
        self.peak_mb = max(self.peak_mb, answer["peak_mb"])
        return answer["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.quota.remove()


def measure(model: str, memory_sizes, sizes, repetitions: int) -> tuple[dict, dict]:
    """({(memory, entry, megapixels): median seconds}, {memory: peak RSS MB})."""
    from local.embedded_s3 import EmbeddedS3

    for megapixels in sizes:
        photo_jpeg(megapixels)
    s3 = EmbeddedS3()
    s3.start()
    workers: list[_Worker] = []
    try:
        s3.create_bucket(BUCKET, versioned=True)
        env = {
            **os.environ,
            **s3.environment(BUCKET),
            "U2NET_HOME": str(model_home()),
            "PYTHONPATH": str(REPO),
            "API_AUTH": PUBLIC,
        }
        workers = [_Worker(memory_mb, model, env) for memory_mb in memory_sizes]
        times: dict[tuple, list[float]] = {}
        for round_ in range(repetitions + 1):  # round 0 warms up and is discarded
            for megapixels in sizes:
                for entry in ENTRY_POINTS:
                    for w in workers:
                        seconds = w.run(entry, megapixels)
                        if round_:
                            times.setdefault((w.memory_mb, entry, megapixels), []).append(seconds)
            print(f"  cost {model}: round {round_} of {repetitions} done", file=sys.stderr, flush=True)
        return {key: median(values) for key, values in times.items()}, {w.memory_mb: w.peak_mb for w in workers}
    finally:
        for w in workers:
            w.close()
        s3.stop()


def table(model: str, results: dict, peaks: dict, memory_sizes, sizes) -> Table:
    note = " (the model that ships)" if model == SHIPPED else ""
    out = Table(
        f"{model}{note}: seconds per image, and $ per 1,000 images x86_64 / arm64, by Lambda memory size",
        "memory (vCPU)",
        "entry point",
        *[f"{mp:g} MP" for mp in sizes],
        "peak RSS",
    )
    for memory_mb in memory_sizes:
        for entry in ENTRY_POINTS:
            cells = []
            for megapixels in sizes:
                seconds = results[(memory_mb, entry, megapixels)]
                cells.append(
                    f"{seconds:.2f} s · ${dollars_per_1000(memory_mb, seconds, 'x86_64'):.4f}"
                    f" / ${dollars_per_1000(memory_mb, seconds, 'arm64'):.4f}"
                )
            out.add(
                f"{memory_mb} MB ({memory_mb / MB_PER_VCPU:.2f})", entry.upper(), *cells, f"{peaks[memory_mb]:.0f} MB"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=[SHIPPED, "u2netp"])
    parser.add_argument("--memory", nargs="+", type=int, default=list(MEMORY_SIZES_MB))
    parser.add_argument("--sizes", nargs="+", type=float, default=list(SIZES_MP))
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    from benchmarks.cpu_limit import quota_unavailable

    if reason := quota_unavailable():
        print(f"cannot limit CPU here: {reason}")
        return 2
    print(prices() + "\n", flush=True)
    for model in args.models:
        results, peaks = measure(model, args.memory, args.sizes, args.repetitions)
        print(table(model, results, peaks, args.memory, args.sizes).render() + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
