"""Where a model's files live: the file rembg downloads, and the optimised copy the build prepares.

onnxruntime optimises a graph every time it creates a session from it. The build does the
hardware-neutral part once (ORT_ENABLE_EXTENDED: constant folding, Conv+activation fusion) and
saves the result with its weights as external data beside it; a cold start then loads that
file instead (less to parse, nothing left to fold) and still applies the CPU-specific layout
pass itself, so the run computes exactly what the original would (checked at build, tested).
The copy is keyed by onnxruntime's version and by the original's size and mtime: a different
onnxruntime or a replaced model file falls back to the original rather than use a stale copy.

Stdlib only at import (onnxruntime on use): the Docker build runs it before the rest of the package is there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from function.errors import PrepareError

OPTIMISED_DIR = "optimised"
# onnxruntime writes initializers of at least this many bytes to the external data file.
EXTERNAL_DATA_MIN_BYTES = 1024
# The build refuses an optimised copy whose outputs stray further than this from the original's.
MAX_OUTPUT_DIFFERENCE = 1e-5


def baked_models(home: Path) -> tuple[str, ...]:
    """Model names with a file in either layout rembg reads (flat, or models/<name>/)."""
    flat = {path.stem for path in home.glob("*.onnx")}
    nested = {path.parent.name for path in home.glob("models/*/*.onnx") if path.stem == path.parent.name}
    return tuple(sorted(flat | nested))


def original_file(home: Path, name: str) -> Path:
    """The model as rembg finds it: models/<name>/<name>.onnx first, then <name>.onnx."""
    nested = home / "models" / name / f"{name}.onnx"
    return nested if nested.exists() else home / f"{name}.onnx"


def _optimised_dir(home: Path) -> Path:
    import onnxruntime

    return home / OPTIMISED_DIR / f"onnxruntime-{onnxruntime.__version__}"


def _fingerprint(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def optimised_file(home: Path, name: str) -> Path | None:
    """The build's optimised copy of `name`, if there is one made from the current original."""
    folder = _optimised_dir(home)
    try:
        made_from = json.loads((folder / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    if made_from != _fingerprint(original_file(home, name)):
        return None
    return folder / f"{name}.onnx"


def session_file(home: Path, name: str) -> Path:
    """What a session loads: the optimised copy when it is current, else the original."""
    return optimised_file(home, name) or original_file(home, name)


def _probe_outputs(path: Path) -> list[Any]:
    """One run on a fixed random input. One session at a time, without the memory pattern (as the
    service runs it): BiRefNet's pre-planned block alone is ~5 GB, and two live sessions would double it."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_mem_pattern = False
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    shape = [dim if isinstance(dim, int) else 1 for dim in first.shape]
    outputs: list[Any] = session.run(
        None, {first.name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    )
    return outputs


def write_optimised(home: Path, name: str) -> tuple[Path, float]:
    """Build step: save the optimised copy, check it computes what the original does.

    Returns the copy and the largest output difference found (0.0 so far: the same kernels run).
    """
    import numpy as np
    import onnxruntime as ort

    source = original_file(home, name)
    folder = _optimised_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    fingerprint = folder / f"{name}.json"
    fingerprint.unlink(missing_ok=True)  # written last: until then the copy does not count
    target = folder / f"{name}.onnx"
    options = ort.SessionOptions()
    # Not ORT_ENABLE_ALL: its layout pass picks block sizes for the build machine's CPU.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", f"{name}.weights")
    options.add_session_config_entry(
        "session.optimized_model_external_initializers_min_size_in_bytes", str(EXTERNAL_DATA_MIN_BYTES)
    )
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    expected, actual = _probe_outputs(source), _probe_outputs(target)
    difference = max(float(np.abs(a - b).max()) for a, b in zip(expected, actual, strict=True))
    if difference > MAX_OUTPUT_DIFFERENCE:
        raise PrepareError(f"optimised {name} differs from the original by {difference:g}")
    fingerprint.write_text(json.dumps(_fingerprint(source)))
    return target, difference
