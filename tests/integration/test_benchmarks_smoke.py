"""The benchmarks still run (quick mode, in a subprocess) and print their tables. Speed is not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_benchmark_prints_a_table_with_ratios(lambda_image_dir_or_none):
    command = [sys.executable, "-m", "benchmarks.run", "--quick"]
    if lambda_image_dir_or_none is not None:
        command += ["--baked-cache", str(lambda_image_dir_or_none / "numba")]  # share the session's bake
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-4000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    print("\n" + "\n".join(table))
    assert table[0].startswith("| row | ours | reference | ratio")
    rows = {line.split(" | ")[0].lstrip("| ") for line in table[2:]}
    for size in ("0.25 MP", "2 MP"):
        assert f"warm {size} HTTP: http_handler vs rembg.remove (n=2)" in rows
        assert f"warm {size} S3: s3_handler vs get+remove+put (n=2)" in rows
    ratios = [line.split(" | ")[3] for line in table[2:] if "warm" in line]
    assert ratios and all(cell.endswith("x") for cell in ratios)


def test_quick_edge_benchmark_prints_the_edge_error_and_timings():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.edges", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=600
    )

    assert done.returncode == 0, done.stderr[-4000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    print("\n" + "\n".join(table))
    assert table[0].startswith("| photo (mean over backgrounds) | rembg.remove | ours, decontaminate=false")
    assert any(line.startswith("| astronaut |") for line in table)
    assert any(line.startswith("| 0.25 MP (n=2) |") and line.count("x)") == 4 for line in table)
