"""BiRefNet stand-ins: the published architecture with random weights, exported to ONNX as the files
rembg downloads were, for measuring what birefnet-* cost (docs/performance.md, BiRefNet).

The network (benchmarks/birefnet/network.py) is BiRefNet at commit 544e9da (the code the 2024-08-19
ONNX release was exported from) rebuilt in PyTorch; checked against upstream's module it has the
same parameter shapes and gives bit-identical output on the same weights. It is exported the way
BiRefNet's tutorials/BiRefNet_pth2onnx.ipynb does (TorchScript exporter, opset 17, deform_conv2d as
GatherND through deform_conv2d_onnx_exporter), so the graph ORT runs is the published one's.
PyTorch is needed only here, so the build runs in a venv of its own:

    make bench-birefnet        # or: python -m benchmarks.birefnet_shaped [general|lite]

Without the built files the benchmarks skip birefnet-* and say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.u2net_shaped import cache_home

HOME = cache_home().parent / "birefnet-shaped-v1"
VENV = Path(os.environ.get("BIREFNET_VENV", "/var/tmp/rembg-bench/torch-venv"))
# Swin-L stands in for birefnet-general (and -portrait/-dis/-hrsod/-cod/-massive: same network); Swin-T for -lite.
VARIANTS = {"birefnet-general": "general", "birefnet-general-lite": "lite"}
BIREFNET_SHAPED: dict[str, Path] = {name: HOME / f"{name}.onnx" for name in VARIANTS}


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        requirements = Path(__file__).parent / "birefnet" / "requirements.txt"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
    return python


def ensure_built(name: str) -> Path:
    """Builds `name`'s stand-in once (1-2 min, 3-6 GB of RAM) and keeps it; returns its path."""
    target = BIREFNET_SHAPED[name]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".onnx.{os.getpid()}.part")
    network = Path(__file__).parent / "birefnet" / "network.py"
    subprocess.run([str(ensure_venv()), str(network), VARIANTS[name], str(partial)], check=True)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    chosen = argv if argv is not None else sys.argv[1:]
    names = [f"birefnet-{v}" if v == "general" else f"birefnet-general-{v}" for v in chosen] or list(VARIANTS)
    for name in names:
        path = ensure_built(name)
        print(f"{path} ({path.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
