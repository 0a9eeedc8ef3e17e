r"""The U-Net of Ronneberger et al. (2015), used on Vaihingen (Section 5.2 of the paper).

The paper says only "a U-Net architecture [Ronneberger et al.], modified to take the 5
channels input data". Every choice made here, and where it comes from:

* **Layers** (Ronneberger et al., Fig. 1): ``depth + 1`` levels of two 3x3 convolutions each
  followed by a ReLU; a 2x2 max-pool of stride 2 between levels on the way down; on the way
  up, a 2x2 transposed convolution of stride 2 that halves the channels, the concatenation
  of the encoder's features of that level (skip connection), and two 3x3 convolutions; a
  final 1x1 convolution to the class logits. At ``width=1`` the levels have 64, 128, 256,
  512 and 1024 channels (``depth=4``, the original).
* **Padding.** The original convolutions are unpadded ('valid'; a 572 x 572 input gives a
  388 x 388 map and the skips are cropped); here they are padded (padding 1), so the output
  has the input's spatial size and no cropping is needed, the usual modern form.
* **Batch norm** after each 3x3 convolution (convolution, BN, ReLU). The original has none
  (it predates BN); BN is the common modern choice and makes training from scratch with
  Adam at 1e-4 (the paper's optimiser) stable. The convolutions followed by BN have no bias
  (BN's shift replaces it); the transposed convolutions and the final 1x1 convolution keep
  theirs.
* **Not reproduced**: the dropout at the end of the contracting path of the original (the
  paper mentions no dropout) and its Gaussian initialisation (PyTorch's defaults are used:
  Kaiming-uniform weights, BN scale 1 and shift 0).
* **Input size.** Height and width must be multiples of :math:`2^{\text{depth}}` (16 at
  ``depth=4``) so that every max-pool halves an even size and every transposed convolution
  gives back the skip's size exactly; any other size raises a ValueError (there is no
  hidden padding). :func:`watlib.segmentation.predict_tile` feeds patches of a fixed size
  and pads a tile smaller than a patch itself.
* ``width`` multiplies every channel count (rounded to the nearest integer, ties to even,
  at least 1) so that the same architecture runs on a CPU; ``width=1`` is the original.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_int, check_real
from ._inputs import check_image_batch

__all__ = ["UNet", "UNET_BASE_CHANNELS", "UNET_MAX_DEPTH", "UNET_MAX_PARAMETERS", "unet_parameter_count"]

#: Channels of the first level at width 1; each level below doubles them.
UNET_BASE_CHANNELS = 64
#: The deepest U-Net built: 8 max-pools take the paper's 256 x 256 patches down to 1 x 1, and
#: inputs must be multiples of ``2 ** depth`` on each side (beyond 8, of 512 and more).
UNET_MAX_DEPTH = 8
#: The most parameters a U-Net is built with (4 GiB in float32, 34 times the original's 31 million):
#: the channels double at each level, so depth and width reach sizes that no machine holds (at
#: ``width=0.25``, ``depth=10`` would ask for 24 GB) before a single layer is allocated.
UNET_MAX_PARAMETERS = 2**30


def _level_channels(width: float, depth: int) -> tuple:
    return tuple(max(1, round(UNET_BASE_CHANNELS * width * 2**level)) for level in range(depth + 1))


def unet_parameter_count(in_channels: int = 5, num_classes: int = 6, width: float = 1.0, depth: int = 4) -> int:
    r"""The number of parameters of ``UNet(in_channels, num_classes, width, depth)``, without building it.

    With :math:`c_l` the channels of level :math:`l` (:math:`c_{-1}` = ``in_channels``), a
    double convolution from :math:`c` to :math:`c'` channels has :math:`9cc' + 9c'^2 + 4c'`
    parameters (two 3x3 kernels without bias, two batch norms), an up-convolution from level
    :math:`l` :math:`4c_lc_{l-1} + c_{l-1}`, and the head :math:`(c_0 + 1)K`.

    Examples
    --------
    >>> unet_parameter_count(5, 6, width=1.0, depth=4)
    31039110
    >>> unet_parameter_count(5, 6, width=0.25, depth=10) > UNET_MAX_PARAMETERS
    True
    """
    c = _level_channels(width, depth)

    def double(c_in, c_out):
        return 9 * c_in * c_out + 9 * c_out * c_out + 4 * c_out

    down = double(in_channels, c[0]) + sum(double(c[level - 1], c[level]) for level in range(1, depth + 1))
    up = sum(4 * c[level] * c[level - 1] + c[level - 1] + double(2 * c[level - 1], c[level - 1])
             for level in range(1, depth + 1))
    return down + up + (c[0] + 1) * num_classes


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """Two [3x3 convolution (padding 1, no bias), batch norm, ReLU]."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    r"""U-Net returning per-pixel class logits of the input's spatial size.

    With :math:`E_l` the two [3x3 convolution, BN, ReLU] of level :math:`l` on the way
    down, :math:`D_l` those on the way up, :math:`P` a 2x2 max-pool of stride 2,
    :math:`U_l` the 2x2 transposed convolution of stride 2 from level :math:`l` to
    :math:`l - 1` and :math:`[\cdot, \cdot]` the concatenation of channels:

    .. math::
        \begin{aligned}
        e_0 &= E_0(\mathbf{x}), & e_l &= E_l(P\, e_{l-1}) \ (1 \le l \le L),\\
        d_L &= e_L, & d_{l-1} &= D_{l-1}\big([e_{l-1}, U_l\, d_l]\big),\\
        f_\theta(\mathbf{x}) &= W \star d_0 + b,
        \end{aligned}

    with :math:`L` = ``depth`` and :math:`W` a 1x1 convolution to the :math:`K` classes;
    ``softmax(model(x), dim=1)`` is the per-pixel prediction. Level :math:`l` has
    :math:`\operatorname{round}(64\, \text{width}\, 2^l)` channels. The module docstring
    lists every departure from Ronneberger et al. (padding, batch norm) and its reason.

    Parameters
    ----------
    in_channels : int, optional
        Input channels; 5 (IRRG + DSM + nDSM, the paper's Vaihingen input) by default.
    num_classes : int, optional
        :math:`K`; 6 (the Vaihingen classes) by default.
    width : float, optional
        Multiplier of every channel count (> 0); 1 is the original (64 to 1024 channels).
    depth : int, optional
        Number of max-pools :math:`L`, in [1, :data:`~watlib.models.UNET_MAX_DEPTH`] (8); 4 is the original (5
        levels). Inputs must be multiples of :math:`2^L` on each side.

    Attributes
    ----------
    channels : tuple of int, length depth + 1
        Channels of each level, top first.

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range (named in the message); a ValueError
        too when ``width`` and ``depth`` together give more than :data:`~watlib.models.UNET_MAX_PARAMETERS`
        parameters (:func:`unet_parameter_count`), checked before any layer is allocated.

    References
    ----------
    .. [1] Ronneberger, O., Fischer, P., Brox, T. (2015). U-Net: Convolutional Networks
       for Biomedical Image Segmentation. MICCAI 2015, LNCS 9351, 234-241.
    .. [2] Ioffe, S., Szegedy, C. (2015). Batch Normalization: Accelerating Deep Network
       Training by Reducing Internal Covariate Shift. ICML 2015.
    .. [3] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2: a U-Net with 5 input channels on Vaihingen).

    Examples
    --------
    >>> import torch
    >>> model = UNet(in_channels=5, num_classes=6, width=0.125, depth=3)
    >>> model.channels
    (8, 16, 32, 64)
    >>> model(torch.zeros(2, 5, 32, 48)).shape
    torch.Size([2, 6, 32, 48])
    >>> UNet().channels
    (64, 128, 256, 512, 1024)
    >>> UNet(width=0.25, depth=10)
    Traceback (most recent call last):
    ...
    ValueError: depth must be an int in [1, 8], got 10
    >>> UNet(width=1.0, depth=7)
    Traceback (most recent call last):
    ...
    ValueError: UNet(width=1, depth=7) would have 1.99e+09 parameters (8 GB in float32), more than UNET_MAX_PARAMETERS = 2**30: lower depth or width
    """

    def __init__(self, in_channels: int = 5, num_classes: int = 6, width: float = 1.0, depth: int = 4):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, ge=1)
        self.num_classes = check_int("num_classes", num_classes, ge=1)
        self.width = check_real("width", width, gt=0)
        self.depth = check_int("depth", depth, ge=1, le=UNET_MAX_DEPTH)
        n = unet_parameter_count(self.in_channels, self.num_classes, self.width, self.depth)
        if n > UNET_MAX_PARAMETERS:
            raise ValueError(f"UNet(width={self.width:g}, depth={self.depth}) would have {n:.3g} parameters "
                             f"({4 * n / 1e9:.2g} GB in float32), more than UNET_MAX_PARAMETERS = 2**30: lower depth "
                             "or width")
        self.channels = _level_channels(self.width, self.depth)
        c = self.channels
        self.encoders = nn.ModuleList(
            [_double_conv(self.in_channels, c[0])]
            + [_double_conv(c[level - 1], c[level]) for level in range(1, self.depth + 1)]
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # ups[i] and decoders[i] bring level depth - i up to level depth - i - 1
        self.ups = nn.ModuleList(
            [nn.ConvTranspose2d(c[level], c[level - 1], kernel_size=2, stride=2)
             for level in range(self.depth, 0, -1)]
        )
        self.decoders = nn.ModuleList(
            [_double_conv(2 * c[level - 1], c[level - 1]) for level in range(self.depth, 0, -1)]
        )
        self.head = nn.Conv2d(c[0], self.num_classes, kernel_size=1)

    @property
    def size_multiple(self) -> int:
        """:math:`2^{\\text{depth}}`: input height and width must be multiples of it."""
        return 2**self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits of a batch of images.

        Parameters
        ----------
        x : torch.Tensor, shape (N, in_channels, H, W)
            Images, floating point, on the device and in the dtype of the parameters; H and
            W positive multiples of ``2 ** depth``. Checked before any layer runs.

        Returns
        -------
        torch.Tensor, shape (N, num_classes, H, W)
            Logits :math:`f_\\theta(\\mathbf{x})`.

        Raises
        ------
        TypeError
            ``x`` not a floating tensor, or of another dtype than the parameters (outside
            ``torch.autocast``); the message says how to convert one or the other.
        ValueError
            ``x`` not of shape (N, in_channels, H, W), or H, W not multiples of
            ``2 ** depth``.
        """
        check_image_batch(self, x, self.in_channels)
        m = self.size_multiple
        height, width = x.shape[2:]
        if height == 0 or width == 0 or height % m or width % m:
            raise ValueError(
                f"x height and width must be positive multiples of 2**depth = {m} "
                f"(depth={self.depth} max-pools halve them), got {height} x {width}"
            )
        skips = []
        for level, encoder in enumerate(self.encoders):
            x = encoder(x if level == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, decoder in zip(self.ups, self.decoders):
            x = decoder(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, num_classes={self.num_classes}, width={self.width:g}, "
            f"depth={self.depth}, channels={self.channels}"
        )
