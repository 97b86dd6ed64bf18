"""`make bench`: cold start against the floor, warm latency and peak memory against rembg, and the
cost of each Lambda memory size, for both models; then the per-model table (benchmarks/models.py)
for every network this machine can stand up. Every table is printed at the end.

    python -m benchmarks.run              # everything (~30 min on 2 shared cores, more with BiRefNet)
    python -m benchmarks.run --quick      # CI smoke: u2netp, 0.25 + 2 MP, 2 repetitions, 1 cold round
    python -m benchmarks.run --skip cost  # any of: cold warm memory cost models

Comparisons run side by side in one run, interleaved, and cells are medians; ratios are ours over
the reference. What each table measures: docs/performance.md. Speed is never asserted: the
command fails only if a benchmark itself breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks import cold, cost, memory, warm
from benchmarks import models as per_model
from benchmarks.common import MODELS, REPO, SHIPPED, Table, baked_numba_cache, ratio, seconds

SIZES_MP = (0.25, 2.0, 12.0, 24.0)
QUICK_SIZES_MP = (0.25, 2.0)
MEMORY_MP = 24.0


def warm_table(models, sizes, repetitions: int) -> Table:
    out = Table(
        "Warm, one process per model: ours against rembg.remove (rembg's own session)",
        "model",
        "row",
        "ours",
        "reference",
        "ratio",
        "note",
    )
    for model in models:  # one process each: a process holds one default model, as on Lambda
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.warm", model, *map(str, sizes), "--repetitions", str(repetitions)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=3600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"warm {model} failed:\n{done.stderr[-4000:]}")
        for line in done.stdout.splitlines():
            if line.startswith(warm.ROW):
                _warm_rows(out, json.loads(line.removeprefix(warm.ROW)))
    return out


def _warm_rows(out: Table, m: dict) -> None:
    label, model, n = f"{m['megapixels']:g} MP", m["model"], m["n"]
    growth = m["bytes_ours"] / m["bytes_rembg"] - 1
    out.add(
        model,
        f"warm {label} HTTP: http_handler vs rembg.remove (n={n})",
        seconds(m["http"]),
        seconds(m["ref_http"]),
        ratio(m["http"], m["ref_http"]),
        f"PNG {m['bytes_ours'] / 1e6:.2f} MB vs {m['bytes_rembg'] / 1e6:.2f} MB ({growth:+.0%})",
    )
    out.add(
        model,
        f"warm {label} S3: s3_handler vs get+remove+put (n={n})",
        seconds(m["s3"]),
        seconds(m["ref_s3"]),
        ratio(m["s3"], m["ref_s3"]),
        "",
    )
    out.add(
        model,
        f"warm {label} HTTP vs the model's session.run floor",
        seconds(m["http"]),
        seconds(m["run"]),
        ratio(m["http"], m["run"]),
        "reference = our onnxruntime session.run alone",
    )
    stored = " (stored in S3, 303)" if m["real_status"] == 303 else ""
    out.add(
        model,
        f"warm {label} real HTTP path (MAX_RESPONSE_BYTES=4.4 MB)",
        seconds(m["real"]),
        seconds(m["ref_http"]),
        ratio(m["real"], m["ref_http"]),
        f"status {m['real_status']}{stored}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: u2netp, small sizes, 2 repetitions")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=None)
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--cold-runs", type=int, default=None)
    parser.add_argument(
        "--baked-cache", type=Path, default=None, help="an already baked numba cache (skips the ~40 s bake)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["cold", "warm", "memory", "cost", "models"])
    args = parser.parse_args(argv)
    models = tuple(args.models or (("u2netp",) if args.quick else MODELS))
    repetitions = args.repetitions or (2 if args.quick else 5)
    skip = set(args.skip) | ({"memory", "cost", "models"} if args.quick else set())
    from function.imaging.model import usable_cpus

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, threads {usable_cpus()}; "
        f"models {', '.join(models)} ({SHIPPED} ships)",
        flush=True,
    )
    tables = []
    if "cold" not in skip:
        from benchmarks.sandbox import sandbox_available

        if reason := sandbox_available():
            print(f"cold start skipped: no sandbox ({reason})", flush=True)
        else:
            results = cold.measure(
                args.cold_runs or (1 if args.quick else 5), not args.quick, baked_numba_cache(args.baked_cache), models
            )
            tables.append(cold.table(results, models))
    if "warm" not in skip:
        tables.append(warm_table(models, QUICK_SIZES_MP if args.quick else SIZES_MP, repetitions))
    if "memory" not in skip:
        tables.append(memory.table(MEMORY_MP, models))
    from benchmarks.cpu_limit import quota_unavailable

    if "cost" not in skip:
        if reason := quota_unavailable():
            print(f"cost table skipped: {reason}", flush=True)
        for model in () if reason else models:
            results, peaks = cost.measure(model, cost.MEMORY_SIZES_MB, cost.SIZES_MP, 3)
            tables.append(cost.table(model, results, peaks, cost.MEMORY_SIZES_MB, cost.SIZES_MP))
    if "models" not in skip and not quota_unavailable():
        networks = dict.fromkeys(per_model.measured_models(None))
        tables.append(per_model.table([per_model.measure(network, 3) for network in networks]))
    print("\n\n".join(table.render() for table in tables), flush=True)
    if "models" not in skip and not quota_unavailable():
        print(per_model.not_measured(), flush=True)
    if "cost" not in skip:
        print("\n" + cost.prices(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
