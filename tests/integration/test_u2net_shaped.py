"""The benchmarks' stand-in for u2net is U²-Net as rembg ships it, node for node, and the function runs it.

The builder is checked against the one real U²-Net file this machine has: with u2netp's widths
it must reproduce rembg's u2netp.onnx exactly (every node, attribute, constant and weight shape,
wired the same way). The u2net build then differs only in channel widths and must weigh what
rembg's u2net.onnx weighs (176 MB of float32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from benchmarks.u2net_shaped import build, ensure_model, weight_count
from function.imaging.model import BackgroundModel

pytestmark = pytest.mark.benchmark


def graph_signature(model) -> tuple:
    """Everything about a graph but its tensor names: ops, attributes, constants, weight shapes, wiring."""
    graph = model.graph
    weights = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}
    produced_by = {value.name: "input" for value in graph.input}
    nodes = []
    for index, node in enumerate(graph.node):
        inputs = tuple(("weight", weights[name]) if name in weights else produced_by[name] for name in node.input)
        attributes = []
        for attribute in sorted(node.attribute, key=lambda a: a.name):
            value = onnx.helper.get_attribute_value(attribute)
            if isinstance(value, onnx.TensorProto):
                array = onnx.numpy_helper.to_array(value)
                value = (array.dtype.str, array.shape, array.tolist())
            attributes.append((attribute.name, tuple(value) if isinstance(value, list) else value))
        nodes.append((node.op_type, inputs, tuple(attributes)))
        produced_by.update((name, index) for name in node.output)
    shapes = tuple(
        tuple(d.dim_value if d.HasField("dim_value") else "symbolic" for d in value.type.tensor_type.shape.dim)
        for value in (*graph.input, *graph.output)
    )
    return tuple(nodes), tuple(produced_by[value.name] for value in graph.output), shapes


def test_with_u2netp_widths_the_builder_reproduces_rembgs_u2netp_file(model_home):
    real = onnx.load(model_home / "u2netp.onnx")
    built = build("u2netp")

    assert graph_signature(built) == graph_signature(real)
    assert len(built.graph.node) == len(real.graph.node) == 1055
    assert weight_count(built) == weight_count(real)


def test_u2net_build_has_the_real_models_size_and_runs_through_the_function(tmp_path: Path):
    path = ensure_model("u2net", tmp_path)
    built = onnx.load(path)

    assert 175e6 < weight_count(built) * 4 < 177e6  # rembg's u2net.onnx: 176 MB of float32 weights
    assert ensure_model("u2net", tmp_path) == path  # cached, not rebuilt
    model = BackgroundModel("u2net", tmp_path)  # the function's own loading path (U2NET_HOME/u2net.onnx)
    photo = Image.fromarray(np.full((240, 360, 3), 128, np.uint8))
    mask = model.small_mask(photo)
    assert (mask.mode, mask.size) == ("L", (320, 320))


def test_isnet_build_is_u2nets_blocks_at_1024_and_runs_as_isnet_general_use(tmp_path: Path):
    path = ensure_model("isnet", tmp_path, name="isnet-general-use")
    built = onnx.load(path)

    # ISNetDIS: U²-Net's stages with stage 1 reading the 64 channels of a stride-2 input convolution
    # (one more 3x3 layer, 64 input channels instead of 3 in stage 1), and no fused output.
    u2net = build("u2net")
    extra = (3 * 64 * 9 + 64) + (64 - 3) * 64 * 9 - (6 + 1)  # stem; stage 1's wider first conv; no fuse conv
    assert weight_count(built) == weight_count(u2net) + extra
    graph = built.graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 3, 1024, 1024]
    assert len(graph.output) == 6
    model = BackgroundModel("isnet-general-use", tmp_path)  # the function reads the 1024 input side from the file
    photo = Image.fromarray(np.full((240, 360, 3), 128, np.uint8))
    mask = model.small_mask(photo)
    assert (mask.mode, mask.size) == ("L", (1024, 1024))
