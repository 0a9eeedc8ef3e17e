"""Tests of watlib.models.UNet: output shapes, the parameter count of the original
configuration against a closed form and the published count of a common PyTorch U-Net,
width scaling, the skip connections and input validation."""

import pytest
import torch
from torch import nn

from watlib.models import UNet, count_parameters


def _closed_form_count(in_channels, num_classes, channels):
    """Parameters of the U-Net as specified: 3x3 convolutions without bias, each with a batch
    norm (2 c parameters), 2x2 transposed convolutions and the 1x1 head with bias."""
    def double(c_in, c_out):
        return 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out

    total = double(in_channels, channels[0])
    total += sum(double(a, b) for a, b in zip(channels, channels[1:]))
    for low, high in zip(channels, channels[1:]):
        total += 4 * high * low + low  # up: high -> low channels
        total += double(2 * low, low)
    return total + channels[0] * num_classes + num_classes


@pytest.mark.parametrize("size", [(16, 16), (32, 48), (64, 16), (80, 112)])
@pytest.mark.parametrize("batch", [1, 3])
def test_output_has_the_input_size_and_one_map_per_class(size, batch):
    torch.manual_seed(0)
    model = UNet(in_channels=5, num_classes=6, width=0.0625)
    # in training mode, batch norm needs more than one value per channel at the bottom
    model.train(batch > 1)
    out = model(torch.randn(batch, 5, *size))
    assert out.shape == (batch, 6, *size)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_depth_sets_the_size_multiple_and_the_levels():
    for depth in (1, 2, 3, 5):
        model = UNet(3, 4, width=0.0625, depth=depth)
        assert len(model.channels) == depth + 1 == len(model.encoders)
        assert len(model.ups) == len(model.decoders) == depth
        assert model.size_multiple == 2**depth
        side = 2**depth
        assert model(torch.zeros(1, 3, side, 2 * side)).shape == (1, 4, side, 2 * side)


def test_parameter_count_at_width_1():
    model = UNet()  # 5 channels, 6 classes, depth 4
    assert model.channels == (64, 128, 256, 512, 1024)
    assert count_parameters(model) == _closed_form_count(5, 6, model.channels) == 31_039_110
    # Ronneberger's configuration with BN as in the widely used PyTorch U-Net
    # (github.com/milesial/Pytorch-UNet, 3 input channels, 2 classes): 31,037,698.
    assert count_parameters(UNet(3, 2)) == 31_037_698
    # Without BN and with a bias in every convolution (the original), 31,030,658 for 1 input
    # channel and 2 classes: each of the 18 3x3 convolutions has c_out fewer parameters.
    n_3x3 = sum(m.out_channels for m in UNet(1, 2).modules()
                if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert count_parameters(UNet(1, 2)) - n_3x3 == 31_030_658


@pytest.mark.parametrize("width, expected", [(0.5, (32, 64, 128, 256, 512)),
                                             (0.125, (8, 16, 32, 64, 128)),
                                             (0.01, (1, 1, 3, 5, 10))])
def test_width_scales_every_level(width, expected):
    model = UNet(width=width)
    assert model.channels == expected
    assert count_parameters(model) == _closed_form_count(5, 6, expected)
    convs = [m for m in model.encoders.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs[1::2]] == list(expected)


def test_width_half_has_about_a_quarter_of_the_parameters():
    ratio = count_parameters(UNet(width=0.5)) / count_parameters(UNet())
    assert 0.24 < ratio < 0.26


def test_an_output_pixel_depends_on_its_own_input_pixel_and_on_most_of_the_patch():
    # the gradient of one output pixel reaches its own input pixel (a 16 x 16 input at
    # depth 4 puts the whole image in the receptive field of every pixel)
    torch.manual_seed(0)
    model = UNet(2, 3, width=0.0625).eval()
    x = torch.randn(1, 2, 16, 16, requires_grad=True)
    model(x)[0, 1, 5, 9].backward()
    assert x.grad[0, :, 5, 9].abs().sum() > 0
    assert (x.grad.abs().sum(1) > 0).float().mean() > 0.9


def test_bad_arguments_are_rejected_with_their_name():
    with pytest.raises(ValueError, match="in_channels must be an int >= 1, got 0"):
        UNet(in_channels=0)
    with pytest.raises(ValueError, match="num_classes must be an int >= 1, got 0"):
        UNet(num_classes=0)
    with pytest.raises(TypeError, match="depth must be an int, got 2.0 of type float"):
        UNet(depth=2.0)
    with pytest.raises(ValueError, match=r"depth must be an int in \[1, 8\], got 0"):
        UNet(depth=0)
    with pytest.raises(ValueError, match="width must be a finite number > 0, got -1"):
        UNet(width=-1)
    with pytest.raises(TypeError, match="width must be a real number, got '1' of type str"):
        UNet(width="1")


@pytest.mark.parametrize(
    "x, error, match",
    [
        (torch.zeros(1, 5, 24, 32), ValueError, r"multiples of 2\*\*depth = 16 .* got 24 x 32"),
        (torch.zeros(1, 5, 32, 8), ValueError, "multiples of 2"),
        (torch.zeros(1, 5, 0, 16), ValueError, "positive multiples"),
        (torch.zeros(1, 4, 32, 32), ValueError, r"x must have shape \(N, 5, H, W\)"),
        (torch.zeros(5, 32, 32), ValueError, r"x must have shape"),
        (torch.zeros(1, 5, 32, 32, dtype=torch.long), TypeError, "x must have a floating-point dtype, got torch.int64"),
        (torch.zeros(1, 5, 32, 32, dtype=torch.float64), TypeError,
         r"x has dtype torch.float64 but UNet's parameters are torch.float32; convert x with x\.float\(\) "
         r"or the model with \.double\(\)"),
        ([[0.0]], TypeError, "x must be a torch.Tensor"),
    ],
)
def test_bad_inputs_are_rejected(x, error, match):
    model = UNet(width=0.0625)
    with pytest.raises(error, match=match):
        model(x)


def test_input_is_checked_before_any_layer_runs():
    model = UNet(width=0.0625, depth=2)
    calls = []
    model.encoders[0].register_forward_pre_hook(lambda module, args: calls.append(1))
    for x in (torch.zeros(1, 4, 32, 32), torch.zeros(1, 5, 32, 32, dtype=torch.float64), torch.zeros(1, 5, 30, 32)):
        with pytest.raises((TypeError, ValueError)):
            model(x)
    assert calls == []
    model(torch.zeros(1, 5, 32, 32))
    assert calls == [1]
    assert model.double()(torch.zeros(1, 5, 32, 32, dtype=torch.float64)).dtype == torch.float64


def test_depth_is_bounded_before_any_layer_is_allocated():
    from watlib.models import UNET_MAX_DEPTH, UNET_MAX_PARAMETERS, unet_parameter_count

    # UNet(5, 6, width=0.25, depth=10) asked for about 24 GB and the process was killed
    with pytest.raises(ValueError, match=rf"^depth must be an int in \[1, {UNET_MAX_DEPTH}\], got 10$"):
        UNet(5, 6, width=0.25, depth=10)
    with pytest.raises(ValueError, match=r"^UNet\(width=1, depth=7\) would have 1.99e\+09 parameters .* "
                                         r"more than UNET_MAX_PARAMETERS = 2\*\*30: lower depth or width$"):
        UNet(5, 6, width=1.0, depth=7)
    assert unet_parameter_count(5, 6, 0.25, 10) > UNET_MAX_PARAMETERS
    for args in ((5, 6, 1.0, 4), (3, 2, 0.125, 3), (1, 1, 0.01, 2)):
        assert unet_parameter_count(*args) == count_parameters(UNet(*args))
    deepest = UNet(1, 2, width=0.001, depth=UNET_MAX_DEPTH)  # tiny channels: allowed
    assert deepest(torch.zeros(2, 1, 2**UNET_MAX_DEPTH, 2**UNET_MAX_DEPTH)).shape == (2, 2, 256, 256)
    with pytest.raises(ValueError, match=r"multiples of 2\*\*depth = 256 \(depth=8 max-pools halve them\), got 128 x 256"):
        deepest(torch.zeros(1, 1, 128, 256))  # smaller than 2**depth: named, not a crash in a max-pool
