"""The benchmarks still run (quick modes, in subprocesses) and print their tables. Speed is not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cpu_limit import quota_unavailable

pytestmark = pytest.mark.benchmark

REPO = Path(__file__).resolve().parents[2]


def tables(stdout: str) -> dict[str, list[list[str]]]:
    """{title: rows of cells} for every markdown table printed."""
    found, title = {}, None
    for line in stdout.splitlines():
        if line.startswith("### "):
            title = line[4:]
            found[title] = []
        elif line.startswith("|") and title and not line.startswith("|---"):
            found[title].append([cell.strip() for cell in line.strip("|").split(" | ")])
    return found


def run(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    print("\n" + done.stdout)
    return done


def test_quick_benchmark_prints_cold_start_against_the_floor_and_warm_ratios(lambda_image_dir_or_none):
    command = ["benchmarks.run", "--quick"]
    if lambda_image_dir_or_none is not None:
        command += ["--baked-cache", str(lambda_image_dir_or_none / "numba")]  # share the session's bake
    printed = tables(run(*command).stdout)

    (warm,) = [rows for title, rows in printed.items() if title.startswith("Warm")]
    assert warm[0] == ["model", "row", "ours", "reference", "ratio", "note"]
    rows = {(cells[0], cells[1]) for cells in warm[1:]}
    for size in ("0.25 MP", "2 MP"):
        assert ("u2netp", f"warm {size} HTTP: http_handler vs rembg.remove (n=2)") in rows
        assert ("u2netp", f"warm {size} S3: s3_handler vs get+remove+put (n=2)") in rows
    assert all(cells[4].endswith("x") for cells in warm[1:])
    cold = [rows for title, rows in printed.items() if title.startswith("Cold start")]
    if lambda_image_dir_or_none is not None:
        (cold,) = cold
        assert [cells[:2] for cells in cold[1:]] == [["u2netp", "HTTP (n=1)"], ["u2netp", "S3 (n=1)"]]
        assert all(cells[4].endswith("x") for cells in cold[1:])  # the ratio to the floor


@pytest.mark.skipif(quota_unavailable() is not None, reason=f"no CPU quota here: {quota_unavailable()}")
def test_memory_size_table_prints_seconds_and_dollars_per_size():
    done = run(
        "benchmarks.cost", "--models", "u2netp", "--memory", "1024", "1769", "--sizes", "0.25", "--repetitions", "1"
    )

    assert "x86_64 $0.0000166667/GB-s, arm64 $0.0000133334/GB-s" in done.stdout
    ((title, rows),) = tables(done.stdout).items()
    assert title.startswith("u2netp")
    assert rows[0] == ["memory (vCPU)", "entry point", "0.25 MP", "peak RSS"]
    assert [cells[:2] for cells in rows[1:]] == [
        ["1024 MB (0.58)", "HTTP"],
        ["1024 MB (0.58)", "S3"],
        ["1769 MB (1.00)", "HTTP"],
        ["1769 MB (1.00)", "S3"],
    ]
    for cells in rows[1:]:
        seconds, dollars = cells[2].split(" · ")
        assert float(seconds.removesuffix(" s")) > 0
        x86, arm = (float(price.lstrip("$")) for price in dollars.split(" / "))
        assert x86 > arm > 0  # the same duration is 20 % cheaper on arm64


@pytest.mark.skipif(quota_unavailable() is not None, reason=f"no CPU quota here: {quota_unavailable()}")
def test_model_table_prints_each_models_cost_on_the_memory_the_template_gives_it():
    done = run("benchmarks.models", "--models", "u2netp", "--repetitions", "1", "--sizes", "0.25", "--largest", "2")
    ((title, rows),) = tables(done.stdout).items()
    assert "ModelDefaults" in title
    assert rows[0][:4] == ["model", "file", "HTTP / S3 memory (vCPU)", "cold start (init + first 0.25 MP)"]
    (cells,) = rows[1:]
    assert cells[:3] == ["u2netp", "5 MB", "3008 (1.70) / 1769 (1.00)"]  # u2net's sizes: the lookups' default
    seconds, dollars = cells[5].split(" · ")
    assert float(seconds.removesuffix(" s")) > 0 and all(p.startswith("$") for p in dollars.split(" / "))
    assert cells[7].endswith(" MB")  # 2 MP fits u2net's S3 memory with room to spare: no remark
