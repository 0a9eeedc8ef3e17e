r"""The nine-layer CNN of Table 1 of the paper, used on Fashion-MNIST, CIFAR-10 and CIFAR-100.

Table 1 of :cite:`damodaran2020wat` lists the layers but not the padding of the convolutions
nor the initialisation. Every choice made here, and where it comes from:

* **Layers** (Table 1, and the text of Section 5.1: "batch norm ... and a leaky-relu
  activation function with slope of 0.01"): 3 x [3x3 conv 128] - 2x2 max-pool, stride 2 -
  dropout 0.25 - 3 x [3x3 conv 256] - max-pool - dropout 0.25 - 3x3 conv 512 - 3x3 conv 256 -
  3x3 conv 128 - global average pool - dense 128 -> K, each convolution followed by batch
  norm then leaky ReLU (convolution, BN, activation: the order of both codes cited below).
  The text's "between each layer ... a drop-out layer" is read as Table 1 draws it and as
  both codes do: dropout only after the two max-pools.
* **Padding.** Table 1 is, layer for layer, the CNN table of Co-teaching (Han et al.,
  NeurIPS 2018), which the paper cites as its source ("similarly to other works [15, 32]").
  Co-teaching's public code pads the first six convolutions ('same', padding 1) and not the last three
  ('valid', padding 0); that is the default here (``head_padding="valid"``): a 28 x 28 input
  reaches the global pool as 1 x 1, a 32 x 32 input as 2 x 2. The authors' released code
  (bbdamodaran/WAR, ``cnn_coteach``) pads all nine; ``head_padding="same"`` gives that
  variant (the pool then sees 7 x 7 or 8 x 8). Miyato et al.'s "conv-large"
  :cite:`miyato2018vat`, from which the network descends, has a 'valid' 3x3 512 convolution
  followed by two 1x1 convolutions; Table 1 writes 3x3 for all three, so the 1x1 form is not
  used.
* **Not reproduced** from the released code, because Table 1 does not have them: a third
  2x2 max-pool after the last convolution and a dropout of 0.5 before the dense layer.
* **Dropout** is channel-wise (``nn.Dropout2d``: a whole feature map is zeroed with
  probability p, the others scaled by 1 / (1 - p)), as in both codes.
* **Initialisation and BN settings**: PyTorch defaults (Kaiming-uniform weights with
  a = sqrt(5), BN momentum 0.1, eps 1e-5), as in both codes; the paper says nothing.
  Convolutions keep their bias (PyTorch's default, both codes), although the batch norm that
  follows cancels it in training mode.
* ``width`` multiplies every channel count (rounded to the nearest integer, ties to even, at
  least 1) so that the same architecture runs on a CPU; ``width=1`` is Table 1.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from .._checks import check_bool, check_choice, check_int, check_real
from ._inputs import check_image_batch

__all__ = ["CNN9", "TABLE1_CHANNELS", "count_parameters"]

#: Output channels of the nine convolutions of Table 1 (width 1).
TABLE1_CHANNELS = (128, 128, 128, 256, 256, 256, 512, 256, 128)
#: Convolutions per block; a 2x2 max-pool and a dropout follow each of the first two blocks.
_BLOCKS = (3, 3, 3)
_HEAD_PADDINGS = {"same": 1, "valid": 0}


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    r"""Number of scalar parameters of a module.

    .. math::
        N(\theta) = \sum_{w \in \theta} \prod_{d} \mathrm{shape}(w)_d

    For :class:`CNN9` this is the sum over its nine convolutions of
    :math:`c_{\text{in}} c_{\text{out}} \cdot 3 \cdot 3 + c_{\text{out}}` (weights and bias),
    :math:`2 c_{\text{out}}` per batch norm (scale and shift) and :math:`128 K + K` for the
    dense layer. Buffers (BN running statistics) are not parameters and are not counted.

    Parameters
    ----------
    module : torch.nn.Module
        Any module.
    trainable_only : bool, optional
        Count only the parameters with ``requires_grad=True``.

    Returns
    -------
    int
        The number of scalars.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise, Table 1. arXiv:1904.03936.

    Examples
    --------
    >>> import torch
    >>> count_parameters(torch.nn.Linear(128, 10))
    1290
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    check_bool("trainable_only", trainable_only)
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


class CNN9(nn.Module):
    r"""The nine-layer CNN of Table 1 of the paper, returning class logits.

    Writing :math:`\phi_l(h) = \mathrm{LReLU}_\alpha\big(\mathrm{BN}_l(w_l \star h + b_l)\big)`
    for convolution :math:`l` (3x3, stride 1) followed by batch norm and the leaky ReLU
    :math:`\mathrm{LReLU}_\alpha(t) = \max(t, \alpha t)`, :math:`P` for a 2x2 max-pool of
    stride 2 and :math:`D_p` for channel dropout, the network computes

    .. math::
        f_\theta(\mathbf{x}) = W\, \mathrm{GAP}\Big(\phi_9 \phi_8 \phi_7\, D_p P\,
        \phi_6 \phi_5 \phi_4\, D_p P\, \phi_3 \phi_2 \phi_1(\mathbf{x})\Big) + b,

    with :math:`\mathrm{GAP}` the mean over the remaining spatial positions, and
    ``softmax(model(x))`` is the prediction :math:`p_\theta(\mathbf{x})` of the paper. At
    ``width=1`` the channel counts of :math:`\phi_1, \dots, \phi_9` are
    ``TABLE1_CHANNELS`` = 128, 128, 128, 256, 256, 256, 512, 256, 128 and :math:`W` is
    K x 128. The first six convolutions are 'same'-padded; the last three are 'valid' by
    default (Co-teaching's code, the source of Table 1) or 'same' (the authors' released
    code). The module docstring lists every choice and its source.

    The layers live in ``self.features`` (an ``nn.Sequential`` named ``conv1, bn1, lrelu1,
    ..., pool1, drop1, ..., conv9, bn9, lrelu9``), ``self.pool`` (global average pool) and
    ``self.classifier`` (the dense layer). Like any module, the network follows the device
    and dtype it is moved to (``model.to(x)``).

    Parameters
    ----------
    in_channels : int
        Channels C of the input images (1 for Fashion-MNIST, 3 for CIFAR), >= 1.
    num_classes : int
        Number of classes K (10 or 100), >= 1.
    width : float, optional
        Multiplier of every channel count, > 0 and finite; each count becomes
        ``max(1, round(c * width))``. ``width=1`` (default) is Table 1; 0.25 or 0.125 make
        CPU runs practical.
    dropout : float, optional
        Probability p of the two channel-dropout layers, in [0, 1) (Table 1: 0.25).
    negative_slope : float, optional
        Slope :math:`\alpha` of the leaky ReLU for negative inputs, finite and >= 0
        (Section 5.1: 0.01).
    head_padding : {"valid", "same"}, optional
        Padding of the last three convolutions (keyword only): "valid" (no padding, the
        default; the input must then be at least 28 x 28) or "same" (padding 1; at least
        4 x 4).

    Attributes
    ----------
    channels : tuple of int, length 9
        Output channels of the nine convolutions.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936.
       Table 1 and Section 5.1.
    .. [2] Miyato, T., Maeda, S., Ishii, S., Koyama, M. (2018). Virtual Adversarial
       Training: A Regularization Method for Supervised and Semi-Supervised Learning.
       IEEE TPAMI 41(8). The "conv-large" CNN.
    .. [3] Han, B., Yao, Q., Yu, X., Niu, G., Xu, M., Hu, W., Tsang, I., Sugiyama, M.
       (2018). Co-teaching: Robust Training of Deep Neural Networks with Extremely Noisy
       Labels. NeurIPS 2018. Its CNN table and public code (github.com/bhanML/Co-teaching).

    Examples
    --------
    >>> import torch
    >>> model = CNN9(in_channels=1, num_classes=10, width=0.125)
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> model.channels
    (16, 16, 16, 32, 32, 32, 64, 32, 16)
    >>> CNN9(3, 10).channels == TABLE1_CHANNELS
    True
    >>> print(CNN9(3, 10, width=0.25).describe((32, 32)))
    input                                 3 x 32 x 32
    conv3x3 32 pad 1, BN, LReLU(0.01)     32 x 32 x 32
    conv3x3 32 pad 1, BN, LReLU(0.01)     32 x 32 x 32
    conv3x3 32 pad 1, BN, LReLU(0.01)     32 x 32 x 32
    maxpool 2x2 stride 2                  32 x 16 x 16
    dropout2d 0.25                        32 x 16 x 16
    conv3x3 64 pad 1, BN, LReLU(0.01)     64 x 16 x 16
    conv3x3 64 pad 1, BN, LReLU(0.01)     64 x 16 x 16
    conv3x3 64 pad 1, BN, LReLU(0.01)     64 x 16 x 16
    maxpool 2x2 stride 2                  64 x 8 x 8
    dropout2d 0.25                        64 x 8 x 8
    conv3x3 128 pad 0, BN, LReLU(0.01)    128 x 6 x 6
    conv3x3 64 pad 0, BN, LReLU(0.01)     64 x 4 x 4
    conv3x3 32 pad 0, BN, LReLU(0.01)     32 x 2 x 2
    global average pool                   32
    dense 32 -> 10                        10
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: float = 1.0,
        dropout: float = 0.25,
        negative_slope: float = 0.01,
        *,
        head_padding: str = "valid",
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, ge=1)
        self.num_classes = check_int("num_classes", num_classes, ge=1)
        self.width = check_real("width", width, gt=0)
        self.dropout = check_real("dropout", dropout, ge=0, lt=1)
        self.negative_slope = check_real("negative_slope", negative_slope, ge=0)
        self.head_padding = check_choice("head_padding", head_padding, sorted(_HEAD_PADDINGS))
        self.channels = tuple(max(1, round(c * self.width)) for c in TABLE1_CHANNELS)

        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in, i = self.in_channels, 0
        for block, n_conv in enumerate(_BLOCKS, start=1):
            padding = 1 if block < len(_BLOCKS) else _HEAD_PADDINGS[head_padding]
            for _ in range(n_conv):
                c_out, i = self.channels[i], i + 1
                layers[f"conv{i}"] = nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=padding)
                layers[f"bn{i}"] = nn.BatchNorm2d(c_out)
                layers[f"lrelu{i}"] = nn.LeakyReLU(self.negative_slope)
                c_in = c_out
            if block < len(_BLOCKS):
                layers[f"pool{block}"] = nn.MaxPool2d(kernel_size=2, stride=2)
                layers[f"drop{block}"] = nn.Dropout2d(self.dropout)
        self.features = nn.Sequential(layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, self.num_classes)

    def _shapes(self, height: int, width: int) -> list[tuple[str, tuple[int, ...]]]:
        """(layer label, output shape) of every stage for an input of ``height`` x ``width``."""
        rows = [("input", (self.in_channels, height, width))]
        for name, m in self.features.named_children():
            c, h, w = rows[-1][1]
            if isinstance(m, nn.Conv2d):
                h, w = h + 2 * m.padding[0] - 2, w + 2 * m.padding[1] - 2
                label = f"conv3x3 {m.out_channels} pad {m.padding[0]}, BN, LReLU({self.negative_slope:g})"
                rows.append((label, (m.out_channels, h, w)))
            elif isinstance(m, nn.MaxPool2d):
                rows.append(("maxpool 2x2 stride 2", (c, h // 2, w // 2)))
            elif isinstance(m, nn.Dropout2d):
                rows.append((f"dropout2d {self.dropout:g}", (c, h, w)))
        rows.append(("global average pool", (self.channels[-1],)))
        rows.append((f"dense {self.channels[-1]} -> {self.num_classes}", (self.num_classes,)))
        return rows

    def _min_size(self) -> int:
        """Smallest input side that leaves at least one position for the global pool.

        The two pools divide by 4 (rounding down); each unpadded 3x3 convolution of the last
        block then removes 2 positions, and at least 1 must remain.
        """
        shrink = 2 * (1 - _HEAD_PADDINGS[self.head_padding]) * _BLOCKS[-1]
        return 2 ** (len(_BLOCKS) - 1) * (1 + shrink)

    def describe(self, input_size: Sequence[int] = (28, 28)) -> str:
        """Table 1 as built: one line per stage with its output shape (C x H x W).

        Parameters
        ----------
        input_size : pair of int, optional
            Height and width of the input images, each at least 28 with
            ``head_padding="valid"`` and at least 4 with ``"same"``.

        Returns
        -------
        str
            One line per stage (convolutions with their BN and leaky ReLU on one line).
        """
        height, width = self._check_size("input_size", input_size)
        rows = self._shapes(height, width)
        return "\n".join(f"{label:<37} {' x '.join(map(str, shape))}" for label, shape in rows)

    def _check_size(self, name: str, size) -> tuple[int, int]:
        if isinstance(size, (str, bytes)) or not isinstance(size, Sequence) or len(size) != 2:
            raise TypeError(f"{name} must be a pair (height, width) of integers, got {size!r}")
        h, w = (check_int(f"{name}[{i}]", s, ge=1) for i, s in enumerate(size))
        low = self._min_size()
        if min(h, w) < low:
            raise ValueError(
                f"{name} must be at least {low} x {low} with head_padding={self.head_padding!r} "
                f"(the last three convolutions need a position to act on), got {h} x {w}"
            )
        return h, w

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled features of the last convolution (the input of the dense layer).

        Parameters
        ----------
        x : torch.Tensor, shape (N, in_channels, H, W)
            Images, floating point, on the device and in the dtype of the parameters.

        Returns
        -------
        torch.Tensor, shape (N, channels[-1])
            The 128-dimensional (at width 1) representation.

        Raises
        ------
        TypeError
            ``x`` not a floating tensor, or of another dtype than the parameters (outside
            ``torch.autocast``); the message says how to convert one or the other.
        ValueError
            ``x`` not of shape (N, in_channels, H, W), or smaller than the network needs.
        """
        check_image_batch(self, x, self.in_channels)
        self._check_size("x.shape[2:]", tuple(x.shape[2:]))
        return self.pool(self.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of images.

        Parameters
        ----------
        x : torch.Tensor, shape (N, in_channels, H, W)
            Images, floating point, on the device and in the dtype of the parameters; H and
            W at least 28 with ``head_padding="valid"`` (4 with ``"same"``). Checked before
            any layer runs (see :meth:`embed`).

        Returns
        -------
        torch.Tensor, shape (N, num_classes)
            Logits :math:`f_\\theta(\\mathbf{x})`.
        """
        return self.classifier(self.embed(x))

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, num_classes={self.num_classes}, width={self.width:g}, "
            f"dropout={self.dropout:g}, negative_slope={self.negative_slope:g}, "
            f"head_padding={self.head_padding!r}, channels={self.channels}"
        )
