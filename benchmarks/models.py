"""The per-model table users pick a model from: what each network costs on the stack the template
deploys for it (docs/configuration.md, Models).

    python -m benchmarks.models                       # every network this machine can stand up
    python -m benchmarks.models --models u2net isnet-general-use

Models that share a network (u2net_human_seg is u2net's, isnet-anime is isnet-general-use's,
birefnet-portrait/-dis/-hrsod/-cod/-massive are birefnet-general's) are measured once. u2netp is
rembg's own file; the others are the real architecture with random weights (benchmarks/common.py).
For each network, two workers hold the real handlers (benchmarks/cost.py) under the CPU quota of
the memory the template's ModelDefaults mapping gives each function:
- HTTP (HttpMemory): cold start = the worker's init (imports, the session from the file) plus its
  first 0.25 MP answer; then warm 0.25 and 12 MP answers (medians).
- S3 (S3Memory): a warm 12 MP photo, then the largest accepted input, a 50 MP photo: its peak RSS
  and the smallest memory size that holds it with 15 % to spare, against the mapping's.
Dollars per 1,000 images are the S3 function's 12 MP seconds at its memory, x86_64 and arm64 list
prices (cost.dollars_per_1000). The files stay in the page cache between runs, so cold start here
does not include reading the image from Lambda's cache, which docs/performance.md measures apart.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass

from benchmarks.common import BUCKET, PUBLIC, REPO, Table, available_models, median, model_home, photo_jpeg
from benchmarks.cost import MB_PER_VCPU, _Worker, dollars_per_1000

# Models measured on another model's network, because theirs is the same architecture and size.
SAME_NETWORK = {
    "u2net_human_seg": "u2net",
    "isnet-anime": "isnet-general-use",
    **{f"birefnet-{kind}": "birefnet-general" for kind in ("portrait", "dis", "hrsod", "cod", "massive")},
}
WARM_SIZES_MP = (0.25, 12.0)
LARGEST_MP = 50.0
HEADROOM = 1.15  # the memory that "holds" an input: its peak RSS and this much to spare
MEMORY_STEP_MB = 64  # Lambda takes memory sizes in 1 MB steps; round up to a tidy one


@dataclass(frozen=True)
class Defaults:
    http_memory: int
    s3_memory: int
    s3_timeout: int


def template_defaults(model: str) -> Defaults:
    """What a stack that sets only ModelName deploys: the model's ModelDefaults row, or the lookups'
    DefaultValue (the 320² models have no row)."""
    from cfnlint.decode import decode

    template, _ = decode(str(REPO / "template.yaml"))
    http, s3 = (template["Resources"][name]["Properties"] for name in ("HttpFunction", "S3Function"))

    def looked_up(value: dict) -> int:
        _, (_, from_model, _) = next(iter(value.items()))  # Fn::If [<size given>, FindInMap, Ref]
        mapping, _, key, default = from_model["Fn::FindInMap"]
        return int(template["Mappings"][mapping].get(model, {}).get(key, default["DefaultValue"]))

    return Defaults(looked_up(http["MemorySize"]), looked_up(s3["MemorySize"]), looked_up(s3["Timeout"]))


def memory_that_holds(peak_mb: float) -> int:
    return math.ceil(peak_mb * HEADROOM / MEMORY_STEP_MB) * MEMORY_STEP_MB


def measure(model: str, repetitions: int, sizes=WARM_SIZES_MP, largest: float = LARGEST_MP) -> dict:
    from local.embedded_s3 import EmbeddedS3

    for megapixels in (*sizes, largest):
        photo_jpeg(megapixels)
    defaults = template_defaults(model)
    home = model_home()
    s3 = EmbeddedS3()
    s3.start()
    try:
        s3.create_bucket(BUCKET, versioned=True)
        env = {
            **os.environ,
            **s3.environment(BUCKET),
            "U2NET_HOME": str(home),
            "PYTHONPATH": str(REPO),
            "API_AUTH": PUBLIC,
        }
        started = time.perf_counter()
        http = _Worker(defaults.http_memory, model, env)
        try:
            init = time.perf_counter() - started
            first = http.run("http", 0.25)
            warm = {mp: median([http.run("http", mp) for _ in range(repetitions + 1)][1:]) for mp in sizes}
        finally:
            http.close()
        worker = _Worker(defaults.s3_memory, model, env)
        try:
            s3_time = median([worker.run("s3", sizes[-1]) for _ in range(repetitions + 1)][1:])
            largest_time = worker.run("s3", largest)
            peak = worker.peak_mb
        finally:
            worker.close()
    finally:
        s3.stop()
    return {
        "model": model,
        "file_mb": (home / f"{model}.onnx").resolve().stat().st_size / 1e6,
        "defaults": defaults,
        "cold": init + first,
        "init": init,
        "warm": warm,
        "s3": s3_time,
        "largest": largest_time,
        "peak": peak,
    }


def table(results: list[dict], sizes=WARM_SIZES_MP, largest: float = LARGEST_MP) -> Table:
    out = Table(
        "Per model, on the memory the template gives it (ModelDefaults): HTTP at HttpMemory, S3 at S3Memory",
        "model",
        "file",
        "HTTP / S3 memory (vCPU)",
        "cold start (init + first 0.25 MP)",
        *[f"warm {mp:g} MP" for mp in sizes],
        f"S3 {sizes[-1]:g} MP · $/1,000 x86_64 / arm64",
        f"S3 {largest:g} MP · peak RSS",
        f"holds {largest:g} MP from",
        "also",
    )
    for m in results:
        d: Defaults = m["defaults"]
        holds = memory_that_holds(m["peak"])
        if m["peak"] > d.s3_memory:
            verdict = f" (the mapping's {d.s3_memory} MB does not hold it!)"
        elif holds > d.s3_memory:
            verdict = f" (the mapping's {d.s3_memory} MB leaves {d.s3_memory / m['peak'] - 1:.0%})"
        else:
            verdict = ""
        also = ", ".join(name for name, same in SAME_NETWORK.items() if same == m["model"])
        out.add(
            m["model"],
            f"{m['file_mb']:.0f} MB",
            f"{d.http_memory} ({d.http_memory / MB_PER_VCPU:.2f}) / {d.s3_memory} ({d.s3_memory / MB_PER_VCPU:.2f})",
            f"{m['cold']:.1f} s ({m['init']:.1f} + {m['cold'] - m['init']:.1f})",
            *[f"{m['warm'][mp]:.2f} s" for mp in sizes],
            f"{m['s3']:.2f} s · ${dollars_per_1000(d.s3_memory, m['s3'], 'x86_64'):.3f}"
            f" / ${dollars_per_1000(d.s3_memory, m['s3'], 'arm64'):.3f}",
            f"{m['largest']:.1f} s · {m['peak']:.0f} MB",
            f"{holds} MB{verdict}",
            also,
        )
    return out


def measured_models(requested: list[str] | None) -> tuple[str, ...]:
    names = requested or [name for name in available_models() if name not in SAME_NETWORK]
    return tuple(SAME_NETWORK.get(name, name) for name in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", type=float, default=list(WARM_SIZES_MP), help="warm sizes, MP")
    parser.add_argument("--largest", type=float, default=LARGEST_MP, help="the largest input, MP")
    args = parser.parse_args(argv)
    from benchmarks.cpu_limit import quota_unavailable

    if reason := quota_unavailable():
        print(f"cannot limit CPU here: {reason}")
        return 2
    results = []
    for model in dict.fromkeys(measured_models(args.models)):
        results.append(measure(model, args.repetitions, tuple(args.sizes), args.largest))
        print(f"  {model} measured", file=sys.stderr, flush=True)
    print(table(results, tuple(args.sizes), args.largest).render(), flush=True)
    if not args.models:
        print(not_measured(), flush=True)
    return 0


def not_measured() -> str:
    """A line naming the networks this machine cannot stand up yet, or nothing."""
    missing = [n for n in ("birefnet-general", "birefnet-general-lite") if not (model_home() / f"{n}.onnx").exists()]
    return f"\nNot on this machine: {', '.join(missing)} (`make bench-birefnet` builds them)." if missing else ""


if __name__ == "__main__":
    sys.exit(main())
