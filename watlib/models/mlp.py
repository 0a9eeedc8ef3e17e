"""A small fully connected classifier for low-dimensional inputs (the 2-D toy of Figure 2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._checks import check_int, check_tensor

__all__ = ["MLP"]


class MLP(nn.Module):
    r"""Fully connected network returning class logits.

    The network is a stack of affine maps separated by a point-wise activation
    :math:`\sigma`; the last layer has no activation, so the outputs are logits and
    ``softmax(model(x))`` is the predicted class distribution :math:`p_\theta(\mathbf{x})`:

    .. math::
        f_\theta(\mathbf{x}) = W_L\, \sigma\big(W_{L-1} \cdots \sigma(W_1 \mathbf{x} + b_1)
        \cdots + b_{L-1}\big) + b_L

    Parameters
    ----------
    in_features : int
        Dimension :math:`d` of the inputs (2 for the toy).
    num_classes : int
        Number of classes :math:`K` (at least 2).
    hidden : sequence of int
        Widths of the hidden layers, input side first; an empty sequence gives a linear
        (multinomial logistic) model.
    activation : callable returning an ``nn.Module``
        Class or factory of the activation placed after every hidden layer, e.g.
        ``nn.ReLU`` (default), ``nn.Tanh``, ``nn.SiLU``.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise (Figure 2: a 3-class 2-D
       toy classified by a small network). arXiv:1904.03936.

    Examples
    --------
    >>> import torch
    >>> model = MLP(in_features=2, num_classes=3, hidden=(8, 8))
    >>> model(torch.zeros(5, 2)).shape
    torch.Size([5, 3])
    >>> [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    [8, 8, 3]
    """

    def __init__(
        self,
        in_features: int = 2,
        num_classes: int = 3,
        hidden: Sequence[int] = (64, 64),
        activation: Callable[[], nn.Module] = nn.ReLU,
    ):
        super().__init__()
        self.in_features = check_int("in_features", in_features, ge=1)
        self.num_classes = check_int("num_classes", num_classes, ge=2)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise TypeError(f"hidden must be a sequence of positive integers, got {hidden!r}")
        self.hidden = tuple(check_int(f"hidden[{i}]", h, ge=1) for i, h in enumerate(hidden))
        if not callable(activation):
            raise TypeError(f"activation must be a callable returning an nn.Module, got {activation!r}")
        layers: list[nn.Module] = []
        width = self.in_features
        for h in self.hidden:
            act = activation()
            if not isinstance(act, nn.Module):
                raise TypeError(
                    f"activation must return an nn.Module, got {type(act).__name__} from {activation!r}"
                )
            layers += [nn.Linear(width, h), act]
            width = h
        layers.append(nn.Linear(width, self.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch.

        Parameters
        ----------
        x : torch.Tensor, shape (N, in_features)
            Inputs, with the dtype and device of the parameters.

        Returns
        -------
        torch.Tensor, shape (N, num_classes)
            Logits :math:`f_\\theta(\\mathbf{x})`.
        """
        check_tensor("x", x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, {self.in_features}) (in_features={self.in_features}), "
                f"got {tuple(x.shape)}"
            )
        return self.net(x)
