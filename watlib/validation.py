r"""The noisy validation split of the CCE run, and its best model: Patrini et al.'s protocol for :math:`\hat T`.

Forward and Backward (Patrini et al. 2017) train on a transition matrix estimated from a
network trained with plain cross-entropy on the noisy labels. In Patrini et al.'s released
code (``giorgiop/loss-correction``, ``experiment.py`` and ``models.py``) that network is the
checkpoint with the lowest cross-entropy on a held-out split of the *noisy* training data
(Keras ``validation_split`` with ``ModelCheckpoint(save_best_only=True)``), not the last
epoch's, which has memorised the flips and so hides them from the estimate. This module
holds the two pieces :func:`watlib.train.run` uses for that:

1. :func:`validation_split`: the validation images, disjoint from the training images, and
   the training images;
2. :class:`BestModel`: after every epoch, the cross-entropy of the model on the validation
   split and a copy of the model's state at the lowest one so far (checkpointed with the
   run, so a resumed run keeps it).
"""

from __future__ import annotations

import copy
import dataclasses
import math

import torch
import torch.nn.functional as F

from ._checks import check_int

__all__ = ["VAL_SPLIT", "validation_size", "validation_split", "BestModel"]

#: The share of the images (training plus validation) the validation split takes when its size
#: is not given: 0.1, Patrini et al.'s ``val_split`` (``experiment.py``, passed to Keras'
#: ``validation_split``). The ``cpu`` preset's 4,000 training images get 444 validation images.
VAL_SPLIT = 0.1


def validation_size(val_size, train_size, n_total: int) -> int:
    r"""The number of validation images of a run.

    .. math::
        n_\mathrm{val} = \begin{cases}
        \mathrm{val\_size} & \text{if given,} \\
        \mathrm{round}\big(n_\mathrm{train}\, s / (1 - s)\big) & \text{with a training subset,} \\
        \mathrm{round}(N s) & \text{with the full training set,}
        \end{cases}

    with :math:`s` = :data:`VAL_SPLIT`: the validation split is the fraction :math:`s` of the
    training and validation images together, as Keras' ``validation_split`` would take it.

    Parameters
    ----------
    val_size : int or None
        The configuration's ``val_size`` (0: no validation split).
    train_size : int or None
        The configuration's training subset (None: the full training set).
    n_total : int
        Images in the full training split of the data set.

    Returns
    -------
    int

    Examples
    --------
    >>> validation_size(None, 4000, 60000), validation_size(None, None, 60000), validation_size(0, 4000, 60000)
    (444, 6000, 0)
    >>> validation_size(57000, 4000, 60000)
    Traceback (most recent call last):
    ...
    ValueError: val_size must be <= 56000 (the 60000 training images less the train_size 4000), got 57000
    """
    n_total = check_int("n_total", n_total, ge=1)
    room = n_total - (train_size or 0)
    if val_size is None:
        val_size = round(train_size * VAL_SPLIT / (1 - VAL_SPLIT)) if train_size else round(n_total * VAL_SPLIT)
        if train_size is not None and val_size > room:  # the default split: the subset is what is too large
            raise ValueError(f"train_size {train_size} leaves {room} of the {n_total} training images for the noisy "
                             f"validation split, which needs {val_size} ({VAL_SPLIT:.0%} of training plus validation "
                             f"images); pass a train_size <= {round(n_total * (1 - VAL_SPLIT))}, or val_size=0 "
                             "(no split)")
    val_size = check_int("val_size", val_size, ge=0)
    if train_size is not None and val_size > room:
        raise ValueError(f"val_size must be <= {room} (the {n_total} training images less the train_size "
                         f"{train_size}), got {val_size}")
    if train_size is None and val_size >= n_total:
        raise ValueError(f"val_size must be < {n_total} (the training images), got {val_size}")
    return val_size


def validation_split(full, train_size, val_size: int, seed: int):
    r"""The training images and the validation images of a run, disjoint and class-balanced.

    With a training subset (``train_size``; the ``cpu`` preset's 4,000 of 60,000), the validation
    images are drawn from the images the subset does not use: the class-balanced subset of
    ``train_size + val_size`` images
    (:func:`watlib.data.subset <watlib.data.classification.subset>`, same seed) contains the
    training subset, since subsets of one seed are nested, and the validation split is the rest of
    it (balanced to one image per class). The training images are then exactly those of a run
    without validation, so no method trains on fewer images.

    With the full training set, the validation split is a class-balanced subset of
    ``val_size`` images held out from it (Keras holds out the last fraction of the arrays;
    a class-balanced draw with the run's seed avoids the order of the files), and the CCE
    run that selects its model on it trains on the others: fewer images than the other
    methods, as in Patrini et al.'s code.

    Parameters
    ----------
    full : ClassificationDataset
        The full training split, N images.
    train_size : int or None
    val_size : int
        From :func:`validation_size`.
    seed : int

    Returns
    -------
    train, val : ClassificationDataset
        ``indices`` of both point into ``full``; they share none.

    Examples
    --------
    >>> from watlib.data import ClassificationDataset
    >>> ds = ClassificationDataset(torch.zeros(40, 1, 1, 1), torch.arange(40) % 4, list("abcd"), "toy", True)
    >>> train, val = validation_split(ds, 12, 8, seed=0)
    >>> len(train), len(val), torch.bincount(val.y).tolist()
    (12, 8, [2, 2, 2, 2])
    >>> bool(set(train.indices.tolist()) & set(val.indices.tolist()))
    False
    """
    from .data import subset

    if train_size is not None:
        train = subset(full, train_size, seed=seed)
        both = subset(full, train_size + val_size, seed=seed)
        keep = ~torch.isin(both.indices, train.indices)
        return train, dataclasses.replace(both, x=both.x[keep], y=both.y[keep], indices=both.indices[keep])
    val = subset(full, val_size, seed=seed)
    keep = ~torch.isin(full.indices, val.indices)
    return dataclasses.replace(full, x=full.x[keep], y=full.y[keep], indices=full.indices[keep]), val


class BestModel:
    r"""The cross-entropy of a model on the noisy validation split, and its state at the lowest one.

    .. math::
        \mathcal L_\mathrm{val}(e) = -\frac{1}{n_\mathrm{val}} \sum_{n} \log p_{\tilde y_n}(x_n; \theta_e),
        \qquad e^\star = \arg\min_e \mathcal L_\mathrm{val}(e)

    (the first epoch of the minimum on ties, as Keras' ``save_best_only``, which saves only
    on a strict improvement).

    Parameters
    ----------
    model : torch.nn.Module
    x_val : torch.Tensor, shape (n, C, H, W)
    y_val : torch.Tensor, shape (n,), int64
        Noisy labels.
    device : torch.device
    batch : int

    Examples
    --------
    >>> model = torch.nn.Linear(2, 3)
    >>> best = BestModel(model, torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1]), torch.device("cpu"))
    >>> loss = best.update(0)
    >>> best.epoch, best.losses == [loss]
    (1, True)
    """

    def __init__(self, model, x_val, y_val, device, batch: int = 1024):
        self.model, self.x_val, self.y_val, self.device, self.batch = model, x_val, y_val, device, batch
        self.losses: list[float] = []
        self.epoch: int | None = None
        self.state: dict | None = None

    @torch.no_grad()
    def loss(self) -> float:
        """The model's mean cross-entropy on the validation split (in eval mode)."""
        was = self.model.training
        self.model.eval()
        try:
            total = 0.0
            for i in range(0, len(self.x_val), self.batch):
                logits = self.model(self.x_val[i : i + self.batch].to(self.device)).float()
                y = self.y_val[i : i + self.batch].to(self.device)
                total += float(F.cross_entropy(logits, y, reduction="sum"))
        finally:
            self.model.train(was)
        return total / len(self.x_val)

    def update(self, epoch: int) -> float:
        """Record the validation loss after (0-based) ``epoch``; keep the state if it is the lowest so far."""
        loss = self.loss()
        if not math.isfinite(loss):
            raise FloatingPointError(f"the validation loss became {loss} at epoch {epoch + 1}")
        if not self.losses or loss < min(self.losses):
            self.epoch = epoch + 1
            self.state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        self.losses.append(loss)
        return loss

    def best_model(self):
        """A copy of the model with the state of the best epoch."""
        model = copy.deepcopy(self.model)
        model.load_state_dict(self.state)
        return model

    def state_dict(self) -> dict:
        return {"losses": list(self.losses), "epoch": self.epoch, "state": self.state}

    def load_state_dict(self, state: dict) -> None:
        self.losses, self.epoch, self.state = list(state["losses"]), state["epoch"], state["state"]
