"""Tests of watlib.models.cnn: the nine-layer CNN of Table 1 of the paper.

References used: Table 1 of the paper (typed below from the paper, the one hand-written
reference), the parameter formula of a 3x3 convolution, batch norm and dense layer, the
shape arithmetic of convolutions and pools, and an independent functional forward pass
(torch.nn.functional) with the model's own weights.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from watlib.models.cnn import CNN9, TABLE1_CHANNELS, count_parameters

# Table 1 of the paper: output channels of the nine 3x3 convolutions, in order.
PAPER_TABLE1 = (128, 128, 128, 256, 256, 256, 512, 256, 128)
SLOPE = 0.01  # Section 5.1: leaky ReLU slope
P_DROP = 0.25  # Table 1: dropout after each max-pool
INPUTS = {"fashion_mnist": (1, 28, 28), "cifar": (3, 32, 32)}
PADDINGS = {"valid": 0, "same": 1}


def _model(in_channels=1, num_classes=10, seed=0, **kw):
    torch.manual_seed(seed)
    return CNN9(in_channels, num_classes, **kw)


def _images(n, shape, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g, dtype=dtype)


def _trace(model, x):
    """(name, module, input, output) of every leaf module, in the order forward calls them."""
    calls = []
    hooks = [
        m.register_forward_hook(lambda m, i, o, name=name: calls.append((name, m, i[0], o)))
        for name, m in model.named_modules()
        if not list(m.children())
    ]
    try:
        logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return calls, logits


def _final_side(side, head_padding):
    """Spatial side reaching the global pool: two 2x2 pools, then three 3x3 convolutions."""
    return side // 4 - 3 * 2 * (1 - PADDINGS[head_padding])


# ----------------------------------------------------------------------------- architecture
@pytest.mark.parametrize("head_padding", ["valid", "same"])
@pytest.mark.parametrize("in_channels, num_classes", [(1, 10), (3, 100)])
def test_width1_is_table1_layer_by_layer_in_forward_order(in_channels, num_classes, head_padding):
    model = _model(in_channels, num_classes, head_padding=head_padding).eval()
    side = 28 if in_channels == 1 else 32
    calls, logits = _trace(model, _images(2, (in_channels, side, side)))
    assert TABLE1_CHANNELS == PAPER_TABLE1 == model.channels
    assert logits.shape == (2, num_classes)

    # Expected leaf sequence, built from Table 1: each conv followed by BN and LeakyReLU, a
    # max-pool and a dropout after the 3rd and 6th conv, then global average pool and dense.
    expected = []
    for i, c in enumerate(PAPER_TABLE1, start=1):
        expected += [("conv", c), ("bn", c), ("lrelu", c)]
        if i in (3, 6):
            expected += [("pool", None), ("drop", None)]
    expected += [("gap", None), ("dense", num_classes)]
    assert len(calls) == len(expected) == len(list(model.modules())) - 2  # all leaves, once each

    c_prev, n_conv = in_channels, 0
    for (name, m, inp, out), (kind, c) in zip(calls, expected):
        if kind == "conv":
            n_conv += 1
            assert isinstance(m, nn.Conv2d), name
            assert (m.in_channels, m.out_channels) == (c_prev, c), name
            assert m.kernel_size == (3, 3) and m.stride == (1, 1) and m.dilation == (1, 1), name
            pad = 1 if n_conv <= 6 else PADDINGS[head_padding]
            assert m.padding == (pad, pad), name
            c_prev = c
        elif kind == "bn":
            assert isinstance(m, nn.BatchNorm2d) and m.num_features == c, name
            assert inp is prev_out, f"{name} does not take the output of the convolution before it"
        elif kind == "lrelu":
            assert isinstance(m, nn.LeakyReLU) and m.negative_slope == SLOPE, name
            assert inp is prev_out, f"{name} does not take the output of the batch norm before it"
        elif kind == "pool":
            assert isinstance(m, nn.MaxPool2d) and m.kernel_size == 2 and m.stride == 2, name
        elif kind == "drop":
            assert isinstance(m, nn.Dropout2d) and m.p == P_DROP, name
            assert inp is prev_out, f"{name} does not follow the max-pool"
        elif kind == "gap":
            assert isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size == 1, name
            assert out.shape[1:] == (PAPER_TABLE1[-1], 1, 1)
            side_in = _final_side(side, head_padding)
            assert inp.shape == (2, PAPER_TABLE1[-1], side_in, side_in)
        else:
            assert isinstance(m, nn.Linear) and (m.in_features, m.out_features) == (128, c), name
            assert out is logits
        prev_out = out
    assert n_conv == 9


def test_leaky_relu_of_the_network_has_slope_0_01_on_negative_inputs():
    model = _model(width=0.125)
    acts = [m for m in model.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 9
    t = torch.linspace(-3, 3, 13)
    for act in acts:
        torch.testing.assert_close(act(t), torch.where(t >= 0, t, SLOPE * t))


@pytest.mark.parametrize("head_padding", ["valid", "same"])
@pytest.mark.parametrize("width", [0.5, 0.3, 0.125])
@pytest.mark.parametrize("data", list(INPUTS))
def test_output_and_intermediate_shapes(data, width, head_padding):
    """Width 1 is covered, for both inputs and both paddings, by the Table 1 test above."""
    C, H, W = INPUTS[data]
    model = _model(C, 10, width=width, head_padding=head_padding).eval()
    n = 3
    calls, logits = _trace(model, _images(n, (C, H, W)))
    assert logits.shape == (n, 10) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    side = _final_side(H, head_padding)
    conv9_out = next(o for name, _, _, o in calls if name == "features.lrelu9")
    assert conv9_out.shape == (n, model.channels[-1], side, side)
    assert model.embed(_images(n, (C, H, W))).shape == (n, model.channels[-1])

    # describe() states, stage by stage, the shapes the forward pass produces
    lines = model.describe((H, W)).splitlines()
    stated = [tuple(int(v) for v in re.search(r"(\d+(?: x \d+)*)$", line).group(1).split(" x ")) for line in lines]
    produced = [(C, H, W)]
    for name, m, _, out in calls:
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
            continue  # one line per conv + BN + LeakyReLU, checked at the LeakyReLU
        shape = tuple(out.shape[1:])
        produced.append(shape[:1] if isinstance(m, nn.AdaptiveAvgPool2d) else shape)  # GAP: C
    assert stated == produced
    assert len(lines) == 9 + 2 + 2 + 2 + 1  # input, 9 convs, 2 pools, 2 dropouts, GAP, dense


def test_28x28_reaches_the_pool_as_1x1_and_32x32_as_2x2_with_valid_head():
    assert _final_side(28, "valid") == 1 and _final_side(32, "valid") == 2
    assert _final_side(28, "same") == 7 and _final_side(32, "same") == 8


@pytest.mark.parametrize("width", [0.001, 0.125, 0.25, 0.3, 0.5, 1.0, 1.7])
def test_width_scales_every_channel_count(width):
    model = _model(3, 10, width=width)
    expected = tuple(max(1, round(c * width)) for c in PAPER_TABLE1)
    assert model.channels == expected
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m.out_channels for m in convs] == [m.num_features for m in bns] == list(expected)
    assert [m.in_channels for m in convs] == [3, *expected[:-1]]
    assert model.classifier.in_features == expected[-1]
    if width == 0.001:
        assert set(expected) == {1}  # rounded, at least 1


def test_parameter_count_at_width_1_follows_the_layer_formula():
    for in_channels, K in [(1, 10), (3, 10), (3, 100)]:
        model = _model(in_channels, K)
        chans = (in_channels, *PAPER_TABLE1)
        conv = sum(c_in * c_out * 3 * 3 + c_out for c_in, c_out in zip(chans[:-1], chans[1:]))
        bn = sum(2 * c for c in PAPER_TABLE1)
        dense = PAPER_TABLE1[-1] * K + K
        assert count_parameters(model) == conv + bn + dense == sum(p.numel() for p in model.parameters())
        # buffers (BN running statistics) are not parameters
        assert sum(b.numel() for b in model.buffers()) == 2 * sum(PAPER_TABLE1) + 9
    model.classifier.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == count_parameters(model) - (128 * 100 + 100)


# ----------------------------------------------------------------------------- behaviour
@pytest.mark.parametrize("head_padding", ["valid", "same"])
def test_forward_equals_a_functional_composition_of_table1(head_padding):
    """Eval-mode forward against F.conv2d / F.batch_norm / F.leaky_relu / pools, in float64."""
    model = _model(3, 7, width=0.125, head_padding=head_padding).double()
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        for i, bn in enumerate(m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            g = torch.Generator().manual_seed(100 + i)
            c = bn.num_features
            bn.running_mean.copy_(torch.randn(c, generator=g, dtype=torch.float64))
            bn.running_var.copy_(torch.rand(c, generator=g, dtype=torch.float64) + 0.5)
            bn.weight.copy_(torch.randn(c, generator=g, dtype=torch.float64))
            bn.bias.copy_(torch.randn(c, generator=g, dtype=torch.float64))
    model.eval()
    x = _images(4, (3, 32, 32), dtype=torch.float64)
    f = model.features
    h = x
    for i in range(1, 10):
        conv, bn = getattr(f, f"conv{i}"), getattr(f, f"bn{i}")
        pad = 1 if i <= 6 else PADDINGS[head_padding]
        h = F.conv2d(h, conv.weight, conv.bias, stride=1, padding=pad)
        h = (h - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
        h = h * bn.weight[:, None, None] + bn.bias[:, None, None]
        h = torch.where(h >= 0, h, SLOPE * h)
        if i in (3, 6):
            h = F.max_pool2d(h, 2)  # dropout is the identity in eval mode
    ref = h.mean(dim=(2, 3)) @ model.classifier.weight.T + model.classifier.bias
    out = model(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def test_follows_the_dtype_it_is_moved_to():
    model32 = _model(1, 10, width=0.125).eval()
    model64 = _model(1, 10, width=0.125).double().eval()
    x = _images(3, (1, 28, 28), dtype=torch.float64)
    out64 = model64(x)
    assert out64.dtype == torch.float64
    torch.testing.assert_close(model32(x.float()), out64.float(), rtol=1e-4, atol=1e-5)


def test_same_seed_same_network_and_same_dropout_masks():
    a, b, c = _model(3, 10, width=0.25, seed=5), _model(3, 10, width=0.25, seed=5), _model(3, 10, width=0.25, seed=6)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["features.conv1.weight"], sc["features.conv1.weight"])
    x = _images(4, (3, 32, 32))
    outs = []
    for m in (a, b):
        torch.manual_seed(11)
        outs.append(m.train()(x))
    assert torch.equal(outs[0], outs[1])


def test_dropout_zeroes_whole_channels_in_train_mode_and_is_identity_in_eval():
    model = _model(1, 10, width=0.25)
    for drop in (model.features.drop1, model.features.drop2):
        x = torch.ones(8, 16, 5, 5)
        torch.manual_seed(0)
        y = drop.train()(x)
        per_map = y.flatten(2)
        kept = per_map[:, :, 0]
        # every feature map is either all zero or all 1 / (1 - p)
        assert torch.equal(per_map, kept[:, :, None].expand_as(per_map))
        assert set(kept.unique().tolist()) == {0.0, torch.tensor(1 / (1 - P_DROP)).item()}  # float32 scale
        assert torch.equal(drop.eval()(x), x)


def test_train_mode_is_stochastic_only_through_dropout_and_eval_is_deterministic():
    x = _images(4, (1, 28, 28))
    model = _model(1, 10, width=0.125).train()
    assert not torch.equal(model(x), model(x))  # dropout masks differ
    no_drop = _model(1, 10, width=0.125, dropout=0.0).train()
    torch.testing.assert_close(no_drop(x), no_drop(x), rtol=0, atol=0)
    model.eval()
    torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


def test_batchnorm_uses_batch_statistics_in_train_and_running_ones_in_eval():
    model = _model(1, 10, width=0.125, dropout=0.0)
    x = _images(6, (1, 28, 28))
    bn1 = model.features.bn1
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}

    model.eval()
    single = torch.cat([model(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(model(x), single, rtol=1e-4, atol=1e-5)  # a sample ignores its batch
    after_eval = model.state_dict()
    assert all(torch.equal(after_eval[k], v) for k, v in before.items())  # eval changes no statistic

    model.train()
    with torch.no_grad():
        full = model(x)
        half = model(x[:3])
    assert not torch.allclose(full[:3], half, atol=1e-4)  # train mode normalises with the batch
    assert int(bn1.num_batches_tracked) == 2
    h = model.features.conv1(x)  # the running mean moved toward the batch mean of conv1's output
    start = before["features.bn1.running_mean"]
    m1 = (1 - bn1.momentum) * start + bn1.momentum * h.mean(dim=(0, 2, 3))
    expected = (1 - bn1.momentum) * m1 + bn1.momentum * model.features.conv1(x[:3]).mean(dim=(0, 2, 3))
    torch.testing.assert_close(bn1.running_mean, expected.detach(), rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_parameter_and_bn_cancels_the_conv_bias():
    model = _model(3, 10, width=0.125).train()
    x = _images(5, (3, 32, 32))
    y = torch.arange(5) % 10
    F.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name.startswith("features.conv") and name.endswith(".bias"):
            w = dict(model.named_parameters())[name.replace(".bias", ".weight")]
            # batch norm subtracts the batch mean, so the conv bias has (numerically) no effect
            assert p.grad.abs().max() < 1e-4 * w.grad.abs().max(), name
        else:
            assert p.grad.abs().max() > 0, name


def test_repr_and_describe_name_the_settings():
    model = _model(3, 100, width=0.5, head_padding="same")
    text = repr(model)
    assert "width=0.5" in text and "head_padding='same'" in text and f"channels={model.channels}" in text
    d = model.describe((32, 32)).splitlines()
    assert d[0].split()[0] == "input" and d[-1].startswith(f"dense {model.channels[-1]} -> 100")
    assert sum("pad 1" in line for line in d) == 9


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"width": 0}, ValueError, ["width", "0", "> 0"]),
        ({"width": -0.5}, ValueError, ["width", "-0.5", "> 0"]),
        ({"width": math.nan}, ValueError, ["width", "nan", "finite"]),
        ({"width": math.inf}, ValueError, ["width", "inf", "finite"]),
        ({"width": True}, TypeError, ["width", "True", "real"]),
        ({"width": "1"}, TypeError, ["width", "'1'", "real"]),
        ({"in_channels": 0}, ValueError, ["in_channels", "0", ">= 1"]),
        ({"in_channels": -3}, ValueError, ["in_channels", "-3", ">= 1"]),
        ({"in_channels": 1.5}, TypeError, ["in_channels", "1.5", "an int"]),
        ({"num_classes": 0}, ValueError, ["num_classes", "0", ">= 1"]),
        ({"num_classes": "10"}, TypeError, ["num_classes", "'10'", "an int"]),
        ({"dropout": -0.1}, ValueError, ["dropout", "-0.1", "[0, 1)"]),
        ({"dropout": 1.0}, ValueError, ["dropout", "1.0", "[0, 1)"]),
        ({"dropout": math.nan}, ValueError, ["dropout", "nan", "[0, 1)"]),
        ({"negative_slope": -0.01}, ValueError, ["negative_slope", "-0.01", ">= 0"]),
        ({"negative_slope": math.inf}, ValueError, ["negative_slope", "inf", "finite"]),
        ({"head_padding": "full"}, ValueError, ["head_padding", "'full'", "'same'", "'valid'"]),
        ({"head_padding": 1}, TypeError, ["head_padding", "1", "'same'", "'valid'"]),
        ({"head_padding": ["same"]}, TypeError, ["head_padding", "['same']", "'valid'"]),
    ],
)
def test_bad_arguments_raise_naming_argument_value_and_rule(kwargs, exc, words):
    args = {"in_channels": 1, "num_classes": 10, "width": 0.125, **kwargs}
    with pytest.raises(exc) as info:
        CNN9(**args)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize(
    "x, head_padding, exc, words",
    [
        ([[0.0]], "valid", TypeError, ["x", "torch.Tensor", "list"]),
        (torch.zeros(2, 1, 28, 28, dtype=torch.long), "valid", TypeError, ["x", "floating", "torch.int64"]),
        (torch.zeros(2, 1, 28, 28, dtype=torch.float64), "valid", TypeError,
         ["x has dtype torch.float64", "CNN9's parameters are torch.float32", "x.float()", ".double()"]),
        (torch.zeros(1, 28, 28), "valid", ValueError, ["x", "(N, 1, H, W)", "(1, 28, 28)"]),
        (torch.zeros(2, 3, 28, 28), "valid", ValueError, ["x", "(N, 1, H, W)", "(2, 3, 28, 28)"]),
        (torch.zeros(2, 1, 27, 28), "valid", ValueError, ["x.shape[2:]", "28 x 28", "27 x 28", "'valid'"]),
        (torch.zeros(2, 1, 3, 3), "same", ValueError, ["x.shape[2:]", "4 x 4", "3 x 3", "'same'"]),
    ],
)
def test_bad_inputs_raise_naming_the_input(x, head_padding, exc, words):
    model = _model(1, 10, width=0.125, head_padding=head_padding)
    with pytest.raises(exc) as info:
        model(x)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_smallest_inputs_are_accepted():
    for head_padding, side in (("valid", 28), ("same", 4)):
        model = _model(1, 10, width=0.125, head_padding=head_padding).eval()
        assert model(torch.zeros(1, 1, side, side)).shape == (1, 10)


def test_bad_describe_size_and_count_parameters_arguments():
    model = _model(1, 10, width=0.125)
    with pytest.raises(TypeError, match=r"input_size must be a pair \(height, width\).*28"):
        model.describe(28)
    with pytest.raises(ValueError, match=r"input_size must be at least 28 x 28.*got 20 x 20"):
        model.describe((20, 20))
    with pytest.raises(TypeError, match=r"input_size\[1\] must be an int, got 28.0 of type float"):
        model.describe((28, 28.0))
    with pytest.raises(TypeError, match="module must be a torch.nn.Module, got list"):
        count_parameters([])
    with pytest.raises(TypeError, match="trainable_only must be a bool, got 1 of type int"):
        count_parameters(model, trainable_only=1)


class _Recorder(nn.Module):
    """Counts the calls of the layer it wraps."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.calls = layer, 0

    def forward(self, x):
        self.calls += 1
        return self.layer(x)


@pytest.mark.parametrize(
    "x, exc, match",
    [
        (torch.zeros(2, 3, 28, 28), ValueError,
         re.escape("x must have shape (N, 1, H, W) (in_channels=1), got (2, 3, 28, 28)")),
        (torch.zeros(2, 1, 28, 28, dtype=torch.float64), TypeError,
         re.escape("x has dtype torch.float64 but CNN9's parameters are torch.float32; "
                   "convert x with x.float() or the model with .double()")),
        (torch.zeros(2, 1, 28, 28, dtype=torch.float16), TypeError, re.escape("x.float() or the model with .half()")),
    ],
)
def test_input_is_checked_before_any_layer_runs(x, exc, match):
    model = _model(1, 10, width=0.125)
    model.features.conv1 = _Recorder(model.features.conv1)
    with pytest.raises(exc, match=match):
        model(x)
    assert model.features.conv1.calls == 0
    model(torch.zeros(2, 1, 28, 28))
    assert model.features.conv1.calls == 1


def test_a_double_model_takes_double_input_and_says_so_for_float():
    model = _model(1, 10, width=0.125).double().eval()
    assert model(torch.zeros(1, 1, 28, 28, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match=re.escape("convert x with x.double() or the model with .float()")):
        model(torch.zeros(1, 1, 28, 28))


def test_autocast_lets_the_dtypes_differ():
    model = _model(1, 10, width=0.125).eval()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.zeros(1, 1, 28, 28, dtype=torch.bfloat16))
    assert out.shape == (1, 10)
