"""The models the service offers: rembg's single-mask models, and how rembg's session for each
prepares its input and reads its output, so one pipeline runs them all (function/imaging/model.py).

Each recipe is what that model's `predict` in rembg.sessions does: the square input side, the
mean/std its `normalize` call passes, and whether the first output is logits (BiRefNet: sigmoid
before the min-max scaling every model gets). tests/unit/runtime/test_model_catalog.py checks each
recipe against rembg's own session class. The weights, their URLs and md5s stay rembg's: the build
downloads through its session classes (function/runtime/prepare.py).

Stdlib only: the Docker build's prepare step and Settings import it before the rest of the package is there.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]
IMAGENET_MEAN: RGB = (0.485, 0.456, 0.406)
IMAGENET_STD: RGB = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelRecipe:
    """How rembg's session for a model feeds it and reads its mask."""

    family: str
    input_side: int  # the model sees the photo resized to input_side x input_side
    mean: RGB  # subtracted from the pixels scaled by the photo's brightest value...
    std: RGB  # ...then divided by this, per channel
    output_is_logits: bool  # sigmoid first (BiRefNet); then every model's mask is min-max scaled to 0-255


U2NET = ModelRecipe("U²-Net", 320, IMAGENET_MEAN, IMAGENET_STD, output_is_logits=False)
BIREFNET = ModelRecipe("BiRefNet", 1024, IMAGENET_MEAN, IMAGENET_STD, output_is_logits=True)

RECIPES: dict[str, ModelRecipe] = {
    "u2net": U2NET,
    "u2netp": U2NET,
    "u2net_human_seg": U2NET,
    "silueta": U2NET,
    "isnet-general-use": ModelRecipe("ISNet", 1024, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0), output_is_logits=False),
    "isnet-anime": ModelRecipe("ISNet", 1024, IMAGENET_MEAN, (1.0, 1.0, 1.0), output_is_logits=False),
    "birefnet-general": BIREFNET,
    "birefnet-general-lite": BIREFNET,
    "birefnet-portrait": BIREFNET,
    "birefnet-dis": BIREFNET,
    "birefnet-hrsod": BIREFNET,
    "birefnet-cod": BIREFNET,
    "birefnet-massive": BIREFNET,
}
MODEL_NAMES = tuple(RECIPES)
