"""The segmentation model: one rembg session per process, created at init from the baked file.

rembg downloads missing weights at run time; on Lambda that would be a network call from a
read-only filesystem at the worst moment, so a missing model is a start-up error instead.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from function.errors import ErrorCode, InvalidOption, ModelNotAvailable
from function.imaging.coldstart import load_session_factory

# u2net and u2netp share rembg's input contract: 320x320, ImageNet mean/std, scaled by the max pixel.
MODEL_SIZE = (320, 320)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# Downscale for the model input: Pillow first box-reduces by an integer factor to within 3x of
# 320 px, then LANCZOS. rembg LANCZOS-resizes the full photo in one go, whose filter spans many
# source pixels per tap on a big photo; the mask differs by well under 1/255 on average
# (tests/integration/test_matches_rembg.py).
REDUCING_GAP = 3.0
# Lambda gives one vCPU per 1,769 MB of memory, up to 6; os.cpu_count() reports the host's.
MB_PER_LAMBDA_VCPU = 1769
MAX_LAMBDA_VCPUS = 6


def usable_cpus() -> int:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if memory_mb and memory_mb.isdigit():
        lambda_vcpus = min(MAX_LAMBDA_VCPUS, math.ceil(int(memory_mb) / MB_PER_LAMBDA_VCPU))
        return max(1, min(available, lambda_vcpus))
    return max(1, available)


class BackgroundModel:
    """A rembg session that predicts the foreground mask at the model's resolution (320x320)."""

    def __init__(self, name: str, home: Path):
        # rembg resolves model files through U2NET_HOME; point it at the baked folder.
        os.environ["U2NET_HOME"] = str(home)
        if name not in baked_models(home):
            raise ModelNotAvailable(
                f"model {name!r} is not baked under {home}; run `python -m function.imaging.prepare {name}`"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = usable_cpus()
        # After a run, idle pool threads would spin for a while and steal the CPUs from the
        # band threads that upscale/compose/encode right after inference.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.name = name
        self.threads = options.intra_op_num_threads
        new_session = load_session_factory()  # rembg's factory minus the pymatting import
        self.session = new_session(name, sess_opts=options, providers=["CPUExecutionProvider"])
        self._run = self.session.inner_session.run
        self._input_name = self.session.inner_session.get_inputs()[0].name

    def model_input(self, image: Image.Image) -> dict[str, np.ndarray]:
        """rembg's normalize(), in float32 and with a cheaper (reducing) downscale."""
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        small = rgb.resize(MODEL_SIZE, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        pixels = np.asarray(small, dtype=np.float32)
        pixels *= 1.0 / max(float(pixels.max()), 1e-6)
        pixels -= MEAN
        pixels /= STD
        return {self._input_name: pixels.transpose(2, 0, 1)[np.newaxis].copy()}

    def small_mask(self, image: Image.Image) -> Image.Image:
        """The mask at the model's resolution (320x320, mode L), post-processed as rembg does."""
        prediction = self._run(None, self.model_input(image))[0][0, 0]
        low, high = prediction.min(), prediction.max()
        # A flat prediction (nothing to tell apart) would divide by zero; rembg has that bug.
        prediction = (prediction - low) / ((high - low) or 1.0)
        return Image.fromarray((prediction * 255).astype(np.uint8))


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
        self.default_name = default
        self.default = BackgroundModel(default, home)
        self._models[default] = self.default

    def get(self, name: str | None = None) -> BackgroundModel:
        if name is None:
            return self.default
        if name not in self.available:
            raise InvalidOption(
                f"model {name!r} is not available; choose one of: {', '.join(self.available)}",
                code=ErrorCode.MODEL_NOT_AVAILABLE,
            )
        with self._lock:
            if name not in self._models:
                self._models[name] = BackgroundModel(name, self.home)
            return self._models[name]
