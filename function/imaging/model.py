"""The segmentation model: one onnxruntime session per process, created at init from the baked file.

rembg downloads missing weights at run time; on Lambda that would be a network call from a
read-only filesystem at the worst moment, so a missing model is a start-up error instead.
The session is created here rather than through rembg's session classes: they only resolve
the same file (and import its downloader) before calling onnxruntime, and this way the file
can be the build's optimised copy (model_files.py). Creating it can run on a background thread
(onnxruntime releases the GIL) while the entry point imports the rest of the service.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PIL import Image

from function.errors import ErrorCode, InvalidOption, ModelNotAvailable
from function.runtime.model_catalog import RECIPES, ModelRecipe
from function.runtime.model_files import baked_models, session_file

if TYPE_CHECKING:
    from onnxruntime import InferenceSession  # untyped (Any to mypy), named for the reader

# Downscale for the model input: Pillow first box-reduces by an integer factor to within 3x of
# the model's input side, then LANCZOS. rembg LANCZOS-resizes the full photo in one go, whose filter
# spans many source pixels per tap on a big photo; the mask differs by well under 1/255 on average
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


def _open_session(path: Path, threads: int) -> InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # After a run, idle pool threads would spin for a while and steal the CPUs from the
    # band threads that upscale/compose/encode right after inference.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The memory pattern pre-plans one block for all of a run's tensors on top of the arena; without
    # it the arena alone serves them, at the same speed and with less memory kept (docs/performance.md).
    options.enable_mem_pattern = False
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


T = TypeVar("T")


def _in_background(work: Callable[[], T]) -> Future[T]:
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # handed to whoever waits for the model
            future.set_exception(error)

    threading.Thread(target=run, name="model-load", daemon=True).start()
    return future


def model_pixels(image: Image.Image, recipe: ModelRecipe) -> np.ndarray:
    """rembg's normalize() for a model: its size and mean/std, in float32 and with a cheaper (reducing)
    downscale; shape [1, 3, side, side]."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    side = recipe.input_side
    small = rgb.resize((side, side), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    pixels = np.asarray(small, dtype=np.float32)
    pixels *= 1.0 / max(float(pixels.max()), 1e-6)
    pixels -= np.array(recipe.mean, np.float32)
    pixels /= np.array(recipe.std, np.float32)
    return pixels.transpose(2, 0, 1)[np.newaxis].copy()


def mask_from_prediction(prediction: np.ndarray, recipe: ModelRecipe) -> Image.Image:
    """The model's first output channel [side, side] as rembg's session turns it into a mask (mode L)."""
    if recipe.output_is_logits:
        with np.errstate(over="ignore"):  # exp(-logit) of a very negative logit is inf: sigmoid 0, as intended
            prediction = 1 / (1 + np.exp(-prediction))
    low, high = prediction.min(), prediction.max()
    # A flat prediction (nothing to tell apart) would divide by zero; rembg has that bug.
    prediction = (prediction - low) / ((high - low) or 1.0)
    return Image.fromarray((prediction * 255).astype(np.uint8))


class BackgroundModel:
    """A model session that predicts the foreground mask at the model's resolution (its recipe's
    input side, e.g. 320x320), prepared and post-processed as rembg's session for it does."""

    def __init__(self, name: str, home: Path, in_background: bool = False):
        if name not in RECIPES:
            raise ModelNotAvailable(f"model {name!r} is not one this service runs; choose one of: {', '.join(RECIPES)}")
        if name not in baked_models(home):
            raise ModelNotAvailable(
                f"model {name!r} is not baked under {home}; run `python -m function.runtime.prepare {name}`"
            )
        self.name = name
        self.recipe: ModelRecipe = RECIPES[name]
        self.file = session_file(home, name)
        self.threads = usable_cpus()
        self._loading: Future[InferenceSession]
        if in_background:
            self._loading = _in_background(lambda: _open_session(self.file, self.threads))
        else:
            self._loading = Future()
            self._loading.set_result(_open_session(self.file, self.threads))

    def wait(self) -> None:
        """Block until the session exists; a model that cannot load raises here."""
        self._loading.result()

    @cached_property
    def _session(self) -> InferenceSession:
        return self._loading.result()

    @cached_property
    def _input_name(self) -> str:
        name: str = self._session.get_inputs()[0].name
        return name

    @cached_property
    def session(self) -> Any:
        """rembg's own session object around this model's onnxruntime session (no second load),
        for comparing with rembg.remove(..., session=model.session)."""
        from function.runtime.coldstart import rembg_session_class

        session_class = rembg_session_class(self.name)
        session = object.__new__(session_class)  # rembg's classes define no __new__
        session.model_name, session.inner_session = self.name, self._session
        return session

    def model_input(self, image: Image.Image) -> dict[str, np.ndarray]:
        return {self._input_name: model_pixels(image, self.recipe)}

    def small_mask(self, image: Image.Image) -> Image.Image:
        """The mask at the model's resolution (mode L), post-processed as rembg's session for it does."""
        return mask_from_prediction(self._session.run(None, self.model_input(image))[0][0, 0], self.recipe)


class ModelRegistry:
    """The models baked into the image, each session created at most once per process.

    The default model is loaded at init (the cold start pays for it once), on a background thread
    when `in_background` (then `default.wait()` ends init); another baked model is loaded on the
    first request that asks for it and kept.
    """

    def __init__(self, home: Path, default: str, in_background: bool = False):
        self.home = home
        # A file no recipe covers (another rembg model dropped into the folder) is never offered.
        self.available = tuple(name for name in baked_models(home) if name in RECIPES)
        self._models: dict[str, BackgroundModel] = {}
        self._lock = threading.Lock()
        self.default_name = default
        self.default = BackgroundModel(default, home, in_background)
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
