"""ONNX models with U²-Net's and ISNet's full architecture and size, random weights, for benchmarks.

rembg's u2net.onnx (176 MB) and isnet-*.onnx download only from GitHub, which the image build
reaches and this machine does not. Time and memory do not depend on weight values, so the
benchmarks build models of the same shape: U²-Net's RSU-7/6/5/4/4F encoder and decoder, six side
outputs and the fused output, 320x320 input, written node for node the way rembg's files were
exported (PyTorch 1.9, opset 11: batch norm folded into Conv, each upsample a Shape/Gather/Slice/
Cast chain into a linear `Resize`). Built with the onnx package's helpers; the same builder with
u2netp's widths reproduces rembg's u2netp.onnx graph exactly (tests/integration/
test_u2net_shaped.py), so only the channel widths, taken from U²-Net's published definition,
separate this file from the real u2net. ISNet (DIS, isnet-general-use and isnet-anime) is the same
RSU blocks at 1024x1024 behind a stride-2 input convolution, with six side outputs and no fused
one (ISNetDIS in the DIS authors' models/isnet.py). They never go into the image.

    python -m benchmarks.u2net_shaped [ARCHITECTURE]   # builds once, prints the folder (a U2NET_HOME)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Bump when the builder changes, so a cached file from an older builder is not reused.
BUILDER_VERSION = 1
SEED = 2020


def cache_home() -> Path:
    """Where built models are kept, outside the repository (they are 176 MB)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rembg-bench" / f"u2net-shaped-v{BUILDER_VERSION}"


@dataclass(frozen=True)
class Stage:
    """One residual U-block: RSU-`depth` (7..4), or the dilated RSU-4F when `dilated`."""

    depth: int
    in_ch: int
    mid_ch: int
    out_ch: int
    dilated: bool = False


# U²-Net's published widths (U2NET and U2NETP in the authors' model/u2net.py), in forward order:
# encoder stages 1-6, then decoder stages 5d-1d. Side outputs read stages 1d..5d and 6.
ARCHITECTURES = {
    "u2net": (
        Stage(7, 3, 32, 64),
        Stage(6, 64, 32, 128),
        Stage(5, 128, 64, 256),
        Stage(4, 256, 128, 512),
        Stage(4, 512, 256, 512, True),
        Stage(4, 512, 256, 512, True),
        Stage(4, 1024, 256, 512, True),
        Stage(4, 1024, 128, 256),
        Stage(5, 512, 64, 128),
        Stage(6, 256, 32, 64),
        Stage(7, 128, 16, 64),
    ),
    "u2netp": (
        Stage(7, 3, 16, 64),
        Stage(6, 64, 16, 64),
        Stage(5, 64, 16, 64),
        Stage(4, 64, 16, 64),
        Stage(4, 64, 16, 64, True),
        Stage(4, 64, 16, 64, True),
        Stage(4, 128, 16, 64, True),
        Stage(4, 128, 16, 64),
        Stage(5, 128, 16, 64),
        Stage(6, 128, 16, 64),
        Stage(7, 128, 16, 64),
    ),
}
# ISNetDIS: a 3x3 stride-2 convolution to 64 channels first, so stage 1 reads 64 channels at half
# the 1024 input; every other stage is U²-Net's.
ARCHITECTURES["isnet"] = (Stage(7, 64, 32, 64), *ARCHITECTURES["u2net"][1:])
INPUT_SIZE = 320
ISNET_INPUT_SIZE = 1024
ISNET_STEM_CHANNELS = 64
# Which shaped file stands for which of rembg's models (file name = rembg's).
SHAPED_MODELS = {
    "u2net": "u2net",
    "u2net_human_seg": "u2net",
    "isnet-general-use": "isnet",
    "isnet-anime": "isnet",
}


class _Graph:
    """Emits nodes in the order PyTorch's exporter wrote them, with numbered tensor names."""

    def __init__(self, seed: int):
        self.nodes: list = []
        self.initializers: list = []
        self.rng = np.random.default_rng(seed)
        self._count = 0

    def name(self) -> str:
        self._count += 1
        return str(self._count)

    def node(self, op: str, inputs: list[str], **attributes) -> str:
        from onnx import helper

        output = self.name()
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, value: np.ndarray) -> str:
        from onnx import numpy_helper

        return self.node("Constant", [], value=numpy_helper.from_array(value))

    def conv(self, x: str, in_ch: int, out_ch: int, kernel: int = 3, dilation: int = 1, stride: int = 1) -> str:
        from onnx import numpy_helper

        # He-scaled weights keep activations near 1 through 100+ layers: no denormals, no overflow.
        std = (2.0 / (in_ch * kernel * kernel)) ** 0.5
        weight = self.rng.standard_normal((out_ch, in_ch, kernel, kernel), dtype=np.float32) * std
        names = (self.name(), self.name())
        self.initializers += [
            numpy_helper.from_array(weight, names[0]),
            numpy_helper.from_array(np.zeros(out_ch, np.float32), names[1]),
        ]
        pad = dilation * (kernel // 2)
        return self.node(
            "Conv",
            [x, *names],
            dilations=[dilation] * 2,
            group=1,
            kernel_shape=[kernel] * 2,
            pads=[pad] * 4,
            strides=[stride] * 2,
        )

    def rebnconv(self, x: str, in_ch: int, out_ch: int, dilation: int = 1) -> str:
        return self.node("Relu", [self.conv(x, in_ch, out_ch, 3, dilation)])

    def pool(self, x: str) -> str:
        return self.node("MaxPool", [x], ceil_mode=1, kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2])

    def upsample_like(self, src: str, target: str) -> str:
        """F.upsample(src, size=target.shape[2:], mode='bilinear') as opset 11 export spells it."""
        height = self.node("Gather", [self.node("Shape", [target]), self.constant(np.array(2))], axis=0)
        width = self.node("Gather", [self.node("Shape", [target]), self.constant(np.array(3))], axis=0)
        size = self.node(
            "Concat", [self.node("Unsqueeze", [height], axes=[0]), self.node("Unsqueeze", [width], axes=[0])], axis=0
        )
        shape = self.node("Shape", [src])
        axes, starts, ends = (self.constant(np.array([v])) for v in (0, 0, 2))
        batch_channels = self.node("Slice", [shape, starts, ends, axes])
        sizes = self.node("Concat", [batch_channels, self.node("Cast", [size], to=7)], axis=0)
        empty = np.zeros(0, np.float32)
        roi, scales = self.constant(empty), self.constant(empty)
        return self.node(
            "Resize",
            [src, roi, scales, sizes],
            coordinate_transformation_mode="pytorch_half_pixel",
            cubic_coeff_a=-0.75,
            mode="linear",
            nearest_mode="floor",
        )

    def rsu(self, x: str, stage: Stage) -> str:
        mid = stage.mid_ch
        x_in = self.rebnconv(x, stage.in_ch, stage.out_ch)
        if stage.dilated:  # RSU-4F: dilations instead of pooling, so no resampling at all
            down = [self.rebnconv(x_in, stage.out_ch, mid, 1)]
            for dilation in (2, 4, 8):
                down.append(self.rebnconv(down[-1], mid, mid, dilation))
            up = self.rebnconv(self.node("Concat", [down[3], down[2]], axis=1), 2 * mid, mid, 4)
            up = self.rebnconv(self.node("Concat", [up, down[1]], axis=1), 2 * mid, mid, 2)
            out = self.rebnconv(self.node("Concat", [up, down[0]], axis=1), 2 * mid, stage.out_ch, 1)
            return self.node("Add", [out, x_in])
        down = [self.rebnconv(x_in, stage.out_ch, mid)]
        for _ in range(stage.depth - 2):
            down.append(self.rebnconv(self.pool(down[-1]), mid, mid))
        down.append(self.rebnconv(down[-1], mid, mid, 2))
        up = self.rebnconv(self.node("Concat", [down[-1], down[-2]], axis=1), 2 * mid, mid)
        for level in range(stage.depth - 3, -1, -1):
            skip = down[level]
            out_ch = stage.out_ch if level == 0 else mid
            up = self.rebnconv(self.node("Concat", [self.upsample_like(up, skip), skip], axis=1), 2 * mid, out_ch)
        return self.node("Add", [up, x_in])


def build(architecture: str = "u2net", seed: int = SEED):
    """The ModelProto: input `input.1` (1x3xNxN), sigmoid outputs (U²-Net: the fused one first)."""
    from onnx import TensorProto, helper

    stages = ARCHITECTURES[architecture]
    isnet = architecture == "isnet"
    size = ISNET_INPUT_SIZE if isnet else INPUT_SIZE
    g = _Graph(seed)
    encoded, x = [], "input.1"
    if isnet:
        x = g.conv(x, 3, ISNET_STEM_CHANNELS, stride=2)
    for index, stage in enumerate(stages[:6]):
        x = g.rsu(x if index == 0 else g.pool(x), stage)
        encoded.append(x)
    decoded = [encoded[5]]  # hx6, then hx5d .. hx1d
    for stage, skip in zip(stages[6:], reversed(encoded[:5]), strict=False):
        decoded.append(g.rsu(g.node("Concat", [g.upsample_like(decoded[-1], skip), skip], axis=1), stage))
    # Side outputs d1..d6 from hx1d, hx2d, ..., hx5d, hx6: U²-Net upsamples all but d1 to d1's size
    # and fuses them; ISNet upsamples every one to the input's size and has no fused output.
    sources = list(reversed(decoded))
    widths = [stage.out_ch for stage in reversed(stages[6:])] + [stages[5].out_ch]
    if isnet:
        sides = [
            g.upsample_like(g.conv(source, width, 1), "input.1") for source, width in zip(sources, widths, strict=True)
        ]
        outputs = [g.node("Sigmoid", [side]) for side in sides]
        shapes = [[f"Sigmoid{name}_dim_{i}" for i in range(4)] for name in outputs]
    else:
        sides = [g.conv(sources[0], widths[0], 1)]
        for source, width in zip(sources[1:], widths[1:], strict=False):
            sides.append(g.upsample_like(g.conv(source, width, 1), sides[0]))
        fused = g.conv(g.node("Concat", sides, axis=1), len(sides), 1, kernel=1)
        outputs = [g.node("Sigmoid", [side]) for side in [fused, *sides]]
        # As exported: the outputs that went through a size-from-Shape Resize have symbolic dims.
        shapes = [[1, 1, size, size]] * 2 + [[f"Sigmoid{name}_dim_{i}" for i in range(4)] for name in outputs[2:]]
    graph = helper.make_graph(
        g.nodes,
        "torch-jit-export",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, size, size])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
            for name, shape in zip(outputs, shapes, strict=False)
        ],
        g.initializers,
    )
    model = helper.make_model(
        graph, producer_name="pytorch", producer_version="1.9", opset_imports=[helper.make_opsetid("", 11)]
    )
    model.ir_version = 6
    return model


def ensure_model(architecture: str = "u2net", home: Path | None = None, name: str | None = None) -> Path:
    """`<home>/<name or architecture>.onnx`, built once (a few seconds) and kept; returns its path."""
    import onnx

    home = home or cache_home()
    target = home / f"{name or architecture}.onnx"
    if target.exists():
        return target
    home.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".onnx.{os.getpid()}.part")
    onnx.save(build(architecture), partial)
    partial.replace(target)  # atomic: a crashed build never leaves a truncated model behind
    return target


def weight_count(model) -> int:
    return sum(int(np.prod(tensor.dims)) for tensor in model.graph.initializer)


def main() -> int:
    path = ensure_model(sys.argv[1] if len(sys.argv) > 1 else "u2net")
    print(path.parent)
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
