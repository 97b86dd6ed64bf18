#!/usr/bin/env python
"""Shape-faithful BiRefNet rebuild with random weights, exported to ONNX the way
the published BiRefNet / rembg ONNX files were exported.

Written from reading ZhengPeng7/BiRefNet (models/birefnet.py, models/backbones/swin_v1.py,
models/modules/{decoder_blocks,aspp,deform_conv,lateral_blocks}.py, config.py) at commit
544e9da (2024-08-18, "Skip the multi-scale outputs in decoder during the inference"), which is
the code state the ONNX release of 2024-08-19 (the files rembg downloads) was exported from,
and tutorials/BiRefNet_pth2onnx.ipynb (legacy TorchScript exporter, opset 17,
deform_conv2d via deform_conv2d_onnx_exporter).

Usage:  python birefnet_shaped.py {general|lite} OUT.onnx [--seed N] [--patch-layout split|einops]
                                   [--zero-offsets] [--no-export]

  general : Swin-L backbone (swin_v1_l)  -> birefnet-general / -portrait / -dis / -hrsod / -cod / -massive
  lite    : Swin-T backbone (swin_v1_t)  -> birefnet-general-lite

Active config (identical in config.py at 544e9da and at HEAD):
  ms_supervision=True, out_ref=True, dec_ipt=True, dec_ipt_split=True, cxt_num=3,
  mul_scl_ipt='cat', dec_att='ASPPDeformable', squeeze_block='BasicDecBlk_x1',
  dec_blk='BasicDecBlk', lat_blk='BasicLatBlk', dec_channels_inter='fixed' (64),
  batch_size>1 -> BatchNorm2d layers present (folded into Conv by the exporter in eval mode),
  SDPA_enabled=False (explicit softmax attention, as in 2024).
Inference (eval) output: a single tensor, the logits of the final mask [B,1,H,W].
"""

import argparse
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

# --------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------
SWIN_CFGS = {
    # name: (embed_dim, depths, num_heads, window_size)
    "swin_v1_t": (96, (2, 2, 6, 2), (3, 6, 12, 24), 7),
    "swin_v1_s": (96, (2, 2, 18, 2), (3, 6, 12, 24), 7),
    "swin_v1_b": (128, (2, 2, 18, 2), (4, 8, 16, 32), 12),
    "swin_v1_l": (192, (2, 2, 18, 2), (6, 12, 24, 48), 12),
}
VARIANTS = {"general": "swin_v1_l", "lite": "swin_v1_t"}

MUL_SCL_IPT = "cat"
CXT_NUM = 3
DEC_INTER = 64  # dec_channels_inter == 'fixed'
USE_BN = True  # config.batch_size > 1 in the training config


def bn2d(c):
    return nn.BatchNorm2d(c) if USE_BN else nn.Identity()


# --------------------------------------------------------------------------------------
# Swin Transformer v1 backbone (detection-style, 4 normalised multi-scale outputs)
# --------------------------------------------------------------------------------------
def to_windows(x, ws):
    """(B,H,W,C) -> (B*nW, ws, ws, C)"""
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def from_windows(win, ws, H, W):
    """(B*nW, ws, ws, C) -> (B,H,W,C)   (B derived from the window count, as in 2024 code)"""
    B = int(win.shape[0] / (H * W / ws / ws))
    x = win.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WindowMSA(nn.Module):
    """W-MSA / SW-MSA with a learned relative position bias table (explicit softmax path)."""

    def __init__(self, dim, ws, heads):
        super().__init__()
        self.ws, self.heads = ws, heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
        flat = torch.stack((ys.flatten(), xs.flatten()))  # 2, N
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0)  # N, N, 2
        idx = (rel[..., 0] + ws - 1) * (2 * ws - 1) + (rel[..., 1] + ws - 1)
        self.register_buffer("relative_position_index", idx.contiguous())
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        Bw, N, C = x.shape
        qkv = self.qkv(x).reshape(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(Bw // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(Bw, N, C)
        return self.proj(x)


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, ws, shift):
        super().__init__()
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowMSA(dim, ws, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = FeedForward(dim, dim * 4)
        self.H = self.W = None

    def forward(self, x, mask):
        B, _L, C = x.shape
        H, W, ws = self.H, self.W, self.ws
        shortcut = x
        x = self.norm1(x).view(B, H, W, C)
        pad_r, pad_b = (ws - W % ws) % ws, (ws - H % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        Hp, Wp = x.shape[1], x.shape[2]
        if self.shift > 0:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        else:
            mask = None
        w = self.attn(to_windows(x, ws).view(-1, ws * ws, C), mask=mask)
        x = from_windows(w.view(-1, ws, ws, C), ws, Hp, Wp)
        if self.shift > 0:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        if pad_r > 0 or pad_b > 0:
            x = x[:, :H, :W, :].contiguous()
        x = shortcut + x.view(B, H * W, C)  # DropPath == identity at inference
        return x + self.mlp(self.norm2(x))


class PatchMerge(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x, H, W):
        B, _L, C = x.shape
        x = x.view(B, H, W, C)
        if H % 2 == 1 or W % 2 == 1:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(B, -1, 4 * C)))


class SwinStage(nn.Module):
    def __init__(self, dim, depth, heads, ws, downsample):
        super().__init__()
        self.ws, self.shift = ws, ws // 2
        self.blocks = nn.ModuleList([SwinBlock(dim, heads, ws, 0 if i % 2 == 0 else ws // 2) for i in range(depth)])
        self.downsample = PatchMerge(dim) if downsample else None

    def shift_mask(self, H, W, device):
        ws, s = self.ws, self.shift
        Hp, Wp = math.ceil(H / ws) * ws, math.ceil(W / ws) * ws
        img = torch.zeros((1, Hp, Wp, 1), device=device)
        cnt = 0
        for hs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            for wsl in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
                img[:, hs, wsl, :] = cnt
                cnt += 1
        mw = to_windows(img, ws).view(-1, ws * ws)
        m = mw.unsqueeze(1) - mw.unsqueeze(2)
        return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)

    def forward(self, x, H, W):
        mask = self.shift_mask(H, W, x.device)
        for blk in self.blocks:
            blk.H, blk.W = H, W
            x = blk(x, mask)
        if self.downsample is not None:
            return x, H, W, self.downsample(x, H, W), (H + 1) // 2, (W + 1) // 2
        return x, H, W, x, H, W


class SwinBackbone(nn.Module):
    def __init__(self, embed_dim, depths, heads, ws):
        super().__init__()
        self.patch_proj = nn.Conv2d(3, embed_dim, 4, 4)
        self.patch_norm = nn.LayerNorm(embed_dim)
        self.embed_dim = embed_dim
        self.layers = nn.ModuleList(
            [
                SwinStage(embed_dim * 2**i, depths[i], heads[i], ws, downsample=i < len(depths) - 1)
                for i in range(len(depths))
            ]
        )
        self.num_features = [embed_dim * 2**i for i in range(len(depths))]
        self.out_norms = nn.ModuleList([nn.LayerNorm(c) for c in self.num_features])

    def forward(self, x):
        H, W = x.shape[2:]
        if W % 4:
            x = F.pad(x, (0, 4 - W % 4))
        if H % 4:
            x = F.pad(x, (0, 0, 0, 4 - H % 4))
        x = self.patch_proj(x)
        Wh, Ww = x.size(2), x.size(3)
        x = self.patch_norm(x.flatten(2).transpose(1, 2)).transpose(1, 2).view(-1, self.embed_dim, Wh, Ww)
        x = x.flatten(2).transpose(1, 2)
        outs = []
        for i, layer in enumerate(self.layers):
            x_out, H, W, x, Wh, Ww = layer(x, Wh, Ww)
            x_out = self.out_norms[i](x_out)
            outs.append(x_out.view(-1, H, W, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)


# --------------------------------------------------------------------------------------
# Decoder modules
# --------------------------------------------------------------------------------------
class DeformConv(nn.Module):
    """Modulated deformable conv (DCNv2): offset conv + modulator conv (2*sigmoid) + torchvision op."""

    def __init__(self, cin, cout, k, padding, zero_offsets):
        super().__init__()
        self.padding = padding
        self.offset_conv = nn.Conv2d(cin, 2 * k * k, k, 1, padding, bias=True)
        self.modulator_conv = nn.Conv2d(cin, k * k, k, 1, padding, bias=True)
        if zero_offsets:  # upstream init; training moves these away from 0
            for m in (self.offset_conv, self.modulator_conv):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
        self.regular_conv = nn.Conv2d(cin, cout, k, 1, padding, bias=False)

    def forward(self, x):
        offset = self.offset_conv(x)
        modulator = 2.0 * torch.sigmoid(self.modulator_conv(x))
        return deform_conv2d(
            input=x,
            offset=offset,
            weight=self.regular_conv.weight,
            bias=self.regular_conv.bias,
            padding=self.padding,
            mask=modulator,
            stride=(1, 1),
        )


class DeformBranch(nn.Module):
    def __init__(self, cin, planes, k, zero_offsets):
        super().__init__()
        self.atrous_conv = DeformConv(cin, planes, k, k // 2, zero_offsets)
        self.bn = bn2d(planes)

    def forward(self, x):
        return F.relu(self.bn(self.atrous_conv(x)))


class ASPPDeformable(nn.Module):
    """1x1 deformable branch + deformable branches with kernels (1,3,7) + global-pool branch."""

    def __init__(self, cin, zero_offsets, cout=None, kernels=(1, 3, 7)):
        super().__init__()
        cout = cout or cin
        planes = 256
        self.aspp1 = DeformBranch(cin, planes, 1, zero_offsets)
        self.aspp_deforms = nn.ModuleList([DeformBranch(cin, planes, k, zero_offsets) for k in kernels])
        self.global_avg_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Conv2d(cin, planes, 1, bias=False), bn2d(planes), nn.ReLU(inplace=True)
        )
        self.conv1 = nn.Conv2d(planes * (2 + len(kernels)), cout, 1, bias=False)
        self.bn1 = bn2d(cout)

    def forward(self, x):
        x1 = self.aspp1(x)
        xs = [b(x) for b in self.aspp_deforms]
        x5 = F.interpolate(self.global_avg_pool(x), size=x1.shape[2:], mode="bilinear", align_corners=True)
        x = torch.cat((x1, *xs, x5), dim=1)
        return F.relu(self.bn1(self.conv1(x)))  # Dropout(0.5) == identity at inference


class BasicDecBlk(nn.Module):
    def __init__(self, cin, cout, zero_offsets):
        super().__init__()
        self.conv_in = nn.Conv2d(cin, DEC_INTER, 3, 1, 1)
        self.bn_in = bn2d(DEC_INTER)
        self.dec_att = ASPPDeformable(DEC_INTER, zero_offsets)
        self.conv_out = nn.Conv2d(DEC_INTER, cout, 3, 1, 1)
        self.bn_out = bn2d(cout)

    def forward(self, x):
        x = F.relu(self.bn_in(self.conv_in(x)))
        return self.bn_out(self.conv_out(self.dec_att(x)))


class BasicLatBlk(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, 1, 0)

    def forward(self, x):
        return self.conv(x)


class SimpleConvs(nn.Module):
    """Input-patch block: two 3x3 convs (no activation)."""

    def __init__(self, cin, cout, inter=64):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, inter, 3, 1, 1)
        self.conv_out = nn.Conv2d(inter, cout, 3, 1, 1)

    def forward(self, x):
        return self.conv_out(self.conv1(x))


def image_to_patch_channels(x, ref, layout):
    """Cut the full-res image into a grid of ref-sized patches stacked along channels.

    'split'  : 2024 code (get_patches_batch): torch.split by columns then rows, concat on dim 1
               -> channel order (w-grid, h-grid, c). This is what the published ONNX contains.
    'einops' : >= Nov 2024 code: rearrange 'b c (hg h) (wg w) -> b (c hg wg) h w'.
    """
    ph, pw = ref.shape[2:]
    if layout == "einops":
        B, C, H, W = x.shape
        hg, wg = H // ph, W // pw
        return x.view(B, C, hg, ph, wg, pw).permute(0, 1, 2, 4, 3, 5).reshape(B, C * hg * wg, ph, pw)
    batch = []
    for i in range(x.shape[0]):
        parts = []
        for col in torch.split(x[i], pw, dim=-1):
            parts += [p.unsqueeze(0) for p in torch.split(col, ph, dim=-2)]
        batch.append(torch.cat(parts, dim=1))
    return torch.cat(batch, dim=0)


def up(x, ref_hw):
    return F.interpolate(x, size=ref_hw, mode="bilinear", align_corners=True)


class GdtBranch(nn.Module):
    """Gradient-aware attention used at inference: conv3x3->BN->ReLU, then 1x1 conv -> sigmoid."""

    def __init__(self, cin, n=16):
        super().__init__()
        self.convs = nn.Sequential(nn.Conv2d(cin, n, 3, 1, 1), bn2d(n), nn.ReLU(inplace=True))
        self.attn = nn.Conv2d(n, 1, 1, 1, 0)
        self.pred = nn.Conv2d(n, 1, 1, 1, 0)  # training-only head (gradient prediction); unused in eval

    def forward(self, p):
        return p * torch.sigmoid(self.attn(self.convs(p)))


class Decoder(nn.Module):
    def __init__(self, ch, zero_offsets, patch_layout):
        super().__init__()
        self.patch_layout = patch_layout
        # input patch blocks (dec_ipt, dec_ipt_split): in = 3 * (#patches), out = ch[i]//8
        ipt_out = [c // 8 for c in ch]
        self.ipt_blk5 = SimpleConvs(3 * 2**10, ipt_out[0])
        self.ipt_blk4 = SimpleConvs(3 * 2**8, ipt_out[0])
        self.ipt_blk3 = SimpleConvs(3 * 2**6, ipt_out[1])
        self.ipt_blk2 = SimpleConvs(3 * 2**4, ipt_out[2])
        self.ipt_blk1 = SimpleConvs(3 * 2**0, ipt_out[3])
        dec_out = [ch[1], ch[2], ch[3], ch[3] // 2]
        self.decoder_block4 = BasicDecBlk(ch[0] + ipt_out[0], dec_out[0], zero_offsets)
        self.decoder_block3 = BasicDecBlk(ch[1] + ipt_out[0], dec_out[1], zero_offsets)
        self.decoder_block2 = BasicDecBlk(ch[2] + ipt_out[1], dec_out[2], zero_offsets)
        self.decoder_block1 = BasicDecBlk(ch[3] + ipt_out[2], dec_out[3], zero_offsets)
        self.conv_out1 = nn.Conv2d(dec_out[3] + ipt_out[3], 1, 1, 1, 0)
        self.lateral_block4 = BasicLatBlk(ch[1], dec_out[0])
        self.lateral_block3 = BasicLatBlk(ch[2], dec_out[1])
        self.lateral_block2 = BasicLatBlk(ch[3], dec_out[2])
        # ms_supervision heads exist in the checkpoint but are training-only (not in the ONNX graph)
        self.conv_ms_spvn_4 = nn.Conv2d(dec_out[0], 1, 1, 1, 0)
        self.conv_ms_spvn_3 = nn.Conv2d(dec_out[1], 1, 1, 1, 0)
        self.conv_ms_spvn_2 = nn.Conv2d(dec_out[2], 1, 1, 1, 0)
        # out_ref gradient attention
        self.gdt4, self.gdt3, self.gdt2 = GdtBranch(dec_out[0]), GdtBranch(dec_out[1]), GdtBranch(dec_out[2])

    def patches(self, x, ref):
        return image_to_patch_channels(x, ref, self.patch_layout)

    def forward(self, x, x1, x2, x3, x4):
        x4 = torch.cat((x4, self.ipt_blk5(up(self.patches(x, x4), x4.shape[2:]))), 1)
        p4 = self.gdt4(self.decoder_block4(x4))
        _p3 = up(p4, x3.shape[2:]) + self.lateral_block4(x3)
        _p3 = torch.cat((_p3, self.ipt_blk4(up(self.patches(x, _p3), x3.shape[2:]))), 1)
        p3 = self.gdt3(self.decoder_block3(_p3))
        _p2 = up(p3, x2.shape[2:]) + self.lateral_block3(x2)
        _p2 = torch.cat((_p2, self.ipt_blk3(up(self.patches(x, _p2), x2.shape[2:]))), 1)
        p2 = self.gdt2(self.decoder_block2(_p2))
        _p1 = up(p2, x1.shape[2:]) + self.lateral_block2(x1)
        _p1 = torch.cat((_p1, self.ipt_blk2(up(self.patches(x, _p1), x1.shape[2:]))), 1)
        _p1 = up(self.decoder_block1(_p1), x.shape[2:])
        _p1 = torch.cat((_p1, self.ipt_blk1(up(self.patches(x, _p1), x.shape[2:]))), 1)
        return self.conv_out1(_p1)


class BiRefNetShaped(nn.Module):
    def __init__(self, bb_name, zero_offsets=False, patch_layout="split"):
        super().__init__()
        ed, depths, heads, ws = SWIN_CFGS[bb_name]
        self.bb = SwinBackbone(ed, depths, heads, ws)
        ch = [ed * 8, ed * 4, ed * 2, ed]  # lateral_channels_in_collection
        if MUL_SCL_IPT == "cat":
            ch = [c * 2 for c in ch]
        self.cxt = ch[1:][::-1][-CXT_NUM:] if CXT_NUM else []  # [x1, x2, x3] channels
        # squeeze_block = 'BasicDecBlk_x1'
        self.squeeze_module = nn.Sequential(BasicDecBlk(ch[0] + sum(self.cxt), ch[0], zero_offsets))
        self.decoder = Decoder(ch, zero_offsets, patch_layout)

    def forward(self, x):
        x1, x2, x3, x4 = self.bb(x)
        _B, _C, H, W = x.shape
        y1, y2, y3, y4 = self.bb(F.interpolate(x, size=(H // 2, W // 2), mode="bilinear", align_corners=True))
        x1 = torch.cat([x1, up(y1, x1.shape[2:])], dim=1)
        x2 = torch.cat([x2, up(y2, x2.shape[2:])], dim=1)
        x3 = torch.cat([x3, up(y3, x3.shape[2:])], dim=1)
        x4 = torch.cat([x4, up(y4, x4.shape[2:])], dim=1)
        ctx = [up(x1, x4.shape[2:]), up(x2, x4.shape[2:]), up(x3, x4.shape[2:])][-len(self.cxt) :]
        x4 = self.squeeze_module(torch.cat((*ctx, x4), dim=1))
        return self.decoder(x, x1, x2, x3, x4)


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------
def register_deform_conv2d_symbolic():
    """As in tutorials/BiRefNet_pth2onnx.ipynb: deform_conv2d_onnx_exporter (GatherND decomposition),
    with the notebook's patch of get_tensor_dim_size for dims the tracer leaves unknown."""
    import deform_conv2d_onnx_exporter as dce

    if dce.JitScalarType is None:
        # torch >= 2.9 moved torch.onnx._type_utils; the package then falls back to a pre-2.0
        # code path that no longer works. Point it at the new location (same class).
        try:
            from torch.onnx._internal.torchscript_exporter._type_utils import JitScalarType
        except ImportError:
            from torch.onnx._type_utils import JitScalarType
        dce.JitScalarType = JitScalarType
    orig = dce.get_tensor_dim_size

    def get_tensor_dim_size(tensor, dim):
        size = orig(tensor, dim)
        if size is None and dim in (0, 2, 3):
            strides = tensor.type().strides()
            size = {0: strides[3] if len(strides) > 3 else None, 2: strides[1] // strides[2], 3: strides[2]}[dim]
        return size

    dce.get_tensor_dim_size = get_tensor_dim_size
    dce.register_deform_conv2d_onnx_op()


def build(variant, seed=0, zero_offsets=False, patch_layout="split"):
    torch.manual_seed(seed)
    model = BiRefNetShaped(VARIANTS[variant], zero_offsets=zero_offsets, patch_layout=patch_layout)
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("variant", choices=sorted(VARIANTS))
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--patch-layout", choices=["split", "einops"], default="split")
    ap.add_argument(
        "--zero-offsets",
        action="store_true",
        help="upstream init (offset/modulator convs = 0) instead of default torch init",
    )
    ap.add_argument("--no-export", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = build(args.variant, args.seed, args.zero_offsets, args.patch_layout)
    n_all = sum(p.numel() for p in model.parameters())
    n_train_only = sum(p.numel() for n, p in model.named_parameters() if "conv_ms_spvn" in n or ".pred." in n)
    print(
        f"params: total {n_all:,} ({n_all / 1e6:.2f} M); train-only heads {n_train_only:,}; "
        f"inference {n_all - n_train_only:,}",
        flush=True,
    )
    if args.no_export:
        return
    register_deform_conv2d_symbolic()
    x = torch.randn(1, 3, args.size, args.size)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (x,),
            args.out,
            dynamo=False,
            opset_version=args.opset,
            input_names=["input_image"],
            output_names=["output_image"],
            do_constant_folding=True,
            export_params=True,
        )
    print("exported", args.out, flush=True)


if __name__ == "__main__":
    sys.exit(main())
