"""The input check that the image networks of :mod:`watlib.models` share (private module).

Every network checks its batch before any layer runs, so that a wrong input fails with a
message that says what was expected rather than deep inside a convolution.
"""

from __future__ import annotations

import torch  # noqa: F401  (the doctests use it)
from torch import nn

from .._checks import check_model_dtype, check_tensor

__all__ = ["check_image_batch"]

def check_image_batch(model: nn.Module, x, in_channels: int) -> None:
    """A TypeError / ValueError unless ``x`` is a floating (N, in_channels, H, W) tensor in
    the dtype of ``model``'s parameters.

    Under ``torch.autocast`` on ``x``'s device the dtypes may differ (autocast casts them);
    the dtype is then not compared.

    Examples
    --------
    >>> model = torch.nn.Conv2d(1, 2, 3)
    >>> check_image_batch(model, torch.zeros(2, 1, 8, 8), 1)
    >>> check_image_batch(model, torch.zeros(2, 1, 8, 8, dtype=torch.float64), 1)
    Traceback (most recent call last):
    ...
    TypeError: x has dtype torch.float64 but Conv2d's parameters are torch.float32; convert x with x.float() or the model with .double()
    >>> check_image_batch(model, torch.zeros(2, 3, 8, 8), 1)
    Traceback (most recent call last):
    ...
    ValueError: x must have shape (N, 1, H, W) (in_channels=1), got (2, 3, 8, 8)
    """
    check_tensor("x", x, floating=True)
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(
            f"x must have shape (N, {in_channels}, H, W) (in_channels={in_channels}), got {tuple(x.shape)}"
        )
    check_model_dtype(model, x)
