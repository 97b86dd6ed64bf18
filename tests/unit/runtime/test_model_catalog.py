"""Each model the service offers is fed and read exactly as rembg's own session for it does: its
predict() is run against a recording stand-in for onnxruntime, so no weights are needed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from function.imaging.model import mask_from_prediction, model_pixels
from function.runtime.coldstart import rembg_session_class
from function.runtime.model_catalog import MODEL_NAMES, RECIPES

# rembg's single-mask models (issue 22): everything ModelName offers, nothing else.
SINGLE_MASK_MODELS = {
    "u2net", "u2netp", "u2net_human_seg", "silueta", "isnet-general-use", "isnet-anime", "birefnet-general",
    "birefnet-general-lite", "birefnet-portrait", "birefnet-dis", "birefnet-hrsod", "birefnet-cod", "birefnet-massive",
}  # fmt: skip


class RecordingSession:
    """What rembg's predict() calls on onnxruntime: the input's name, and run() with the feed."""

    class Input:
        name = "input"

    def __init__(self, output: np.ndarray):
        self.output = output
        self.feed: dict[str, np.ndarray] = {}

    def get_inputs(self) -> list[Input]:
        return [self.Input()]

    def run(self, _names: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.feed = feed
        return [self.output, np.zeros_like(self.output)]  # a side output, as U²-Net's, never read


def rembgs_session(name: str, output: np.ndarray) -> tuple[object, RecordingSession]:
    session = object.__new__(rembg_session_class(name))  # no file: the inner session is the recorder
    recorder = RecordingSession(output)
    session.model_name, session.inner_session = name, recorder
    return session, recorder


def test_the_catalogue_is_rembgs_single_mask_models():
    assert set(MODEL_NAMES) == SINGLE_MASK_MODELS
    assert MODEL_NAMES[0] == "u2net"  # the default, listed first wherever the names are listed
    assert "u2net_cloth_seg" not in RECIPES  # three masks, not one


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_our_input_and_mask_are_rembgs_for_each_model(name):
    recipe = RECIPES[name]
    side = recipe.input_side
    rng = np.random.default_rng(7)
    # Logits well outside [0, 1]: a missing or extra sigmoid would change the mask.
    prediction = (rng.standard_normal((1, 1, side, side)) * 4).astype(np.float32)
    # A photo of the model's own input size: rembg's final resize to the photo is then a copy.
    photo = Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    session, recorder = rembgs_session(name, prediction)

    (their_mask,) = session.predict(photo)

    (their_input,) = recorder.feed.values()
    assert their_input.shape == (1, 3, side, side)
    assert np.abs(model_pixels(photo, recipe) - their_input).max() < 1e-5  # float32 here, float64 there
    ours = np.asarray(mask_from_prediction(prediction[0, 0], recipe)).astype(int)
    assert np.abs(ours - np.asarray(their_mask)).max() <= 1  # within 1/255


def test_a_flat_prediction_is_an_empty_mask_not_a_division_by_zero():
    for recipe in {RECIPES["u2net"], RECIPES["birefnet-general"]}:
        mask = mask_from_prediction(np.full((8, 8), 0.3, np.float32), recipe)
        assert np.asarray(mask).max() == 0
