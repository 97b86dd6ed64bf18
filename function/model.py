"""The segmentation model: one rembg session per process, created at init from the baked file.

rembg downloads missing weights at run time; on Lambda that would be a network call from a
read-only filesystem at the worst moment, so a missing model is a start-up error instead.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

from PIL import Image

from .coldstart import load_session_factory
from .errors import InvalidOption

# Lambda gives one vCPU per 1,769 MB of memory, up to 6; os.cpu_count() reports the host's.
MB_PER_LAMBDA_VCPU = 1769
MAX_LAMBDA_VCPUS = 6


class ModelNotAvailable(RuntimeError):
    pass


def usable_cpus() -> int:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if memory_mb and memory_mb.isdigit():
        lambda_vcpus = min(MAX_LAMBDA_VCPUS, math.ceil(int(memory_mb) / MB_PER_LAMBDA_VCPU))
        return max(1, min(available, lambda_vcpus))
    return max(1, available)


class BackgroundModel:
    """Predicts a foreground mask (mode "L", same size as the input) with a rembg session."""

    def __init__(self, name: str, home: Path):
        # rembg resolves model files through U2NET_HOME; point it at the baked folder.
        os.environ["U2NET_HOME"] = str(home)
        # The two places rembg looks (its per-model folder, then the flat legacy layout).
        candidates = (home / "models" / name / f"{name}.onnx", home / f"{name}.onnx")
        if not any(path.exists() for path in candidates):
            raise ModelNotAvailable(
                f"model {name!r} is not baked under {home}; run `python -m function.prepare {name}`"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = usable_cpus()
        self.name = name
        self.threads = options.intra_op_num_threads
        new_session = load_session_factory()  # rembg's factory minus the pymatting import
        self.session = new_session(name, sess_opts=options, providers=["CPUExecutionProvider"])

    def mask(self, image: Image.Image) -> Image.Image:
        (mask,) = self.session.predict(image)
        return mask


def baked_models(home: Path) -> tuple[str, ...]:
    """Model names with a file in either layout rembg reads (flat, or models/<name>/)."""
    flat = {path.stem for path in home.glob("*.onnx")}
    nested = {path.parent.name for path in home.glob("models/*/*.onnx") if path.stem == path.parent.name}
    return tuple(sorted(flat | nested))


class ModelRegistry:
    """The models baked into the image, each session created at most once per process.

    The default model is loaded at init (the cold start pays for it once); another baked model
    is loaded on the first request that asks for it and kept.
    """

    def __init__(self, home: Path, default: str):
        self.home = home
        self.available = baked_models(home)
        self._models: dict[str, BackgroundModel] = {}
        self._lock = threading.Lock()
        if default not in self.available:
            raise ModelNotAvailable(
                f"model {default!r} is not baked under {home}; run `python -m function.prepare {default}`"
            )
        self.default_name = default
        self.default = BackgroundModel(default, home)
        self._models[default] = self.default

    def get(self, name: str | None = None) -> BackgroundModel:
        if name is None:
            return self.default
        if name not in self.available:
            raise InvalidOption(
                f"model {name!r} is not available; choose one of: {', '.join(self.available)}",
                code="model_not_available",
            )
        with self._lock:
            if name not in self._models:
                self._models[name] = BackgroundModel(name, self.home)
            return self._models[name]
