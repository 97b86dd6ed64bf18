"""Stand-in model files: a few convolutions with a rembg model's input and output shape, so our
pipeline and rembg's own session can be compared on the same network without the real weights.

    write_standin("birefnet-general-lite", home)  ->  home/birefnet-general-lite.onnx

Input [1, 3, side, side] (side from the model's recipe), first output [1, 1, side, side]. The
weights are random but fixed, scaled so that a BiRefNet stand-in's output spans logits well
beyond [0, 1] (where a missing sigmoid would show) and a U²-Net/ISNet one's does not need one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from function.runtime.model_catalog import RECIPES

HIDDEN = 4
OPSET = 17
IR_VERSION = 8  # what onnxruntime reads on every platform the project supports


def standin_graph(name: str, seed: int = 0) -> onnx.ModelProto:
    recipe = RECIPES[name]
    side = recipe.input_side
    rng = np.random.default_rng(seed)
    spread = 6.0 if recipe.output_is_logits else 1.0
    weights = [
        numpy_helper.from_array(rng.standard_normal((HIDDEN, 3, 3, 3)).astype(np.float32) * 0.5, "w1"),
        numpy_helper.from_array(rng.standard_normal(HIDDEN).astype(np.float32) * 0.1, "b1"),
        numpy_helper.from_array(rng.standard_normal((1, HIDDEN, 3, 3)).astype(np.float32) * spread / 3, "w2"),
        numpy_helper.from_array(np.zeros(1, np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["c1"], ["t1"]),
        # A coarser view too, so the mask has regions and not only edges.
        helper.make_node("AveragePool", ["t1"], ["p1"], kernel_shape=[9, 9], pads=[4, 4, 4, 4], count_include_pad=0),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["mask"], pads=[1, 1, 1, 1]),
        # A second output, as the real U²-Net/ISNet files have side outputs: rembg reads only the first.
        helper.make_node("Sigmoid", ["c1"], ["side"]),
    ]
    graph = helper.make_graph(
        nodes,
        f"{name}-standin",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, side, side]),
            helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, HIDDEN, side, side]),
        ],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def write_standin(name: str, home: Path, seed: int = 0) -> Path:
    """The stand-in saved where rembg and the function both look: U2NET_HOME/<name>.onnx."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / f"{name}.onnx"
    onnx.save(standin_graph(name, seed), path)
    return path
