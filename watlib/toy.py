r"""The 2-D, 3-class toy of the paper's Figure 2: data, ground cost and training.

Three classes, named after the colours of Figure 2 :cite:`damodaran2020wat`:

* ``red`` (0) and ``orange`` (1) are *close*: they fill the two halves of the box
  :math:`[-2, 2] \times [-1.5, 1.5]` on either side of the sine wave
  :math:`x_2 = 0.5 \sin(\pi x_1)` (red above, orange below), so they touch along an
  intricate, two-period wavy border;
* ``black`` (2) is *far* from both: an isotropic Gaussian blob centred at :math:`(4, 0)`
  with standard deviation 0.4, two units to the right of the box;
* the *noisy labels*: a compact cluster of red samples (a Gaussian centred at
  :math:`(-0.5, 0.7)`, standard deviation 0.15, kept only where it falls in the red half of
  the box) whose observed label is ``black``. It sits in the widest part of the red
  region, about one unit from the wavy border, with red samples all around it.

The paper's ground cost between the classes (:func:`toy_cost`) is 5 between the two close
classes and 1 between each of them and ``black``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm  # the text bar: tqdm.auto would need ipywidgets in notebooks

from . import paper
from ._checks import check_bool, check_choice, check_int, check_real
from ._extras import needs_extra
from .adversarial import vat_loss, wasserstein, wat_loss
from .costs import cost_from_matrix
from .engine import SolveStats, folded_convergence_warnings, run_epoch
from .models.mlp import MLP
from .ot import ConvergenceWarning, SinkhornDiagnostics
from .ot_settings import TRAIN_OT, OTSettings

__all__ = ["TOY_CLASSES", "TOY_COLORS", "TOY_REGULARIZERS", "toy_cost", "make_toy_data", "train_toy_classifier",
           "toy_scores", "toy_regularizer", "train_toy_draws", "summarize_draws"]

#: The three classes of the toy, by colour, in label order.
TOY_CLASSES = ("red", "orange", "black")
#: The Matplotlib colour of each class of :data:`TOY_CLASSES`.
TOY_COLORS = ("#d62728", "#ff9f1c", "#000000")

# Geometry of the toy (documented in the module docstring and in make_toy_data).
_BOX = ((-2.0, 2.0), (-1.5, 1.5))  # red and orange fill this box
_WAVE_AMPLITUDE = 0.5  # border x2 = A sin(2 pi x1 / P) between red (above) and orange (below)
_WAVE_PERIOD = 2.0
_BLACK_CENTER = (4.0, 0.0)
_BLACK_STD = 0.4
_NOISY_CENTER = (-0.5, 0.7)
_NOISY_STD = 0.15
# Per-epoch convergence of the regularizer's OT solves, in a training history.
_OT_KEYS = ("ot_violation_max", "ot_iterations_mean", "ot_iterations_max")


def _wave(x1: np.ndarray) -> np.ndarray:
    return _WAVE_AMPLITUDE * np.sin(2 * math.pi * x1 / _WAVE_PERIOD)


def _in_box(p: np.ndarray) -> np.ndarray:
    (x_lo, x_hi), (y_lo, y_hi) = _BOX
    return (p[:, 0] >= x_lo) & (p[:, 0] <= x_hi) & (p[:, 1] >= y_lo) & (p[:, 1] <= y_hi)


def _above_wave(p: np.ndarray) -> np.ndarray:
    return p[:, 1] > _wave(p[:, 0])


def _rejection_sample(rng: np.random.Generator, n: int, propose, keep) -> np.ndarray:
    """``n`` points drawn by ``propose(rng, m) -> (m, 2)`` and kept where ``keep`` is True."""
    kept, total = [np.empty((0, 2))], 0
    while total < n:
        p = propose(rng, 2 * n + 16)
        p = p[keep(p)]
        kept.append(p)
        total += len(p)
    return np.concatenate(kept)[:n]


def _uniform_box(rng: np.random.Generator, m: int) -> np.ndarray:
    (x_lo, x_hi), (y_lo, y_hi) = _BOX
    return rng.uniform((x_lo, y_lo), (x_hi, y_hi), size=(m, 2))


def toy_cost(dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    r"""The paper's ground cost between the toy's classes (red, orange, black).

    .. math::
        \mathbf{C} = \begin{pmatrix} 0 & 5 & 1 \\ 5 & 0 & 1 \\ 1 & 1 & 0 \end{pmatrix}

    The *similar* classes red and orange get the *large* cost 5 and each of them gets 1
    with the far class black: with this cost the Wasserstein loss grows faster from a red
    prediction toward orange than toward black (Section 4 of the paper).

    Parameters
    ----------
    dtype : torch.dtype, optional
        Floating dtype; ``torch.get_default_dtype()`` when omitted.
    device : torch.device or str, optional
        Device; torch's default device when omitted.

    Returns
    -------
    C : torch.Tensor, shape (3, 3)
        Rows and columns in the order of :data:`TOY_CLASSES`, validated by
        :func:`watlib.costs.cost_from_matrix`.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Figure 2 and Section 4, "Discussions").

    Examples
    --------
    >>> toy_cost()
    tensor([[0., 5., 1.],
            [5., 0., 1.],
            [1., 1., 0.]])
    """
    return cost_from_matrix(paper.TOY_COST, dtype=dtype, device=device)


def make_toy_data(n_per_class: int = 300, n_noisy: int = 20, seed: int = 0):
    r"""Sample the 3-class toy with black noisy labels inside the red class.

    With :math:`w(x_1) = 0.5 \sin(\pi x_1)` the border between the close classes,

    .. math::
        \text{red} &\sim \mathcal{U}\{x \in [-2, 2] \times [-1.5, 1.5] : x_2 > w(x_1)\}, \\
        \text{orange} &\sim \mathcal{U}\{x \in [-2, 2] \times [-1.5, 1.5] : x_2 < w(x_1)\}, \\
        \text{black} &\sim \mathcal{N}\big((4, 0),\ 0.4^2 I_2\big), \\
        \text{noisy} &\sim \mathcal{N}\big((-0.5, 0.7),\ 0.15^2 I_2\big)
        \ \text{restricted to the red region},

    ``n_per_class`` points for each of red, orange and black, and ``n_noisy`` extra red
    points whose observed label is black. Sampling is by rejection with a
    ``numpy.random.Generator`` seeded by ``seed``, so the same arguments give the same data.

    Parameters
    ----------
    n_per_class : int
        Points per class before corruption (>= 1).
    n_noisy : int
        Size of the mislabelled cluster (>= 0).
    seed : int
        Seed of the numpy generator (>= 0).

    Returns
    -------
    x : torch.Tensor, shape (N, 2), float32
        Inputs, N = 3 * n_per_class + n_noisy, ordered red, orange, black, then the noisy
        cluster (the last ``n_noisy`` rows).
    y_noisy : torch.Tensor, shape (N,), int64
        Observed labels (what a classifier is trained on): the noisy cluster is labelled 2.
    y_clean : torch.Tensor, shape (N,), int64
        True labels: the noisy cluster is red (0).

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2: "two close classes, the orange class and the red
       class, and a third black class which is not close to the others. We introduce black
       noisy labels inside the red class").

    Examples
    --------
    >>> x, y_noisy, y_clean = make_toy_data(n_per_class=50, n_noisy=5, seed=0)
    >>> x.shape, x.dtype
    (torch.Size([155, 2]), torch.float32)
    >>> torch.bincount(y_noisy).tolist(), torch.bincount(y_clean).tolist()
    ([50, 50, 55], [55, 50, 50])
    >>> int((y_noisy != y_clean).sum())
    5
    """
    n_per_class = check_int("n_per_class", n_per_class, ge=1)
    n_noisy = check_int("n_noisy", n_noisy, ge=0)
    seed = check_int("seed", seed, ge=0)
    rng = np.random.default_rng(seed)
    red = _rejection_sample(rng, n_per_class, _uniform_box, _above_wave)
    orange = _rejection_sample(rng, n_per_class, _uniform_box, lambda p: ~_above_wave(p))
    black = np.asarray(_BLACK_CENTER) + _BLACK_STD * rng.standard_normal((n_per_class, 2))
    noisy = _rejection_sample(
        rng,
        n_noisy,
        lambda g, m: np.asarray(_NOISY_CENTER) + _NOISY_STD * g.standard_normal((m, 2)),
        lambda p: _in_box(p) & _above_wave(p),
    )
    x = np.concatenate([red, orange, black, noisy]).astype(np.float32)
    y_clean = np.repeat([0, 1, 2, 0], [n_per_class] * 3 + [n_noisy])
    y_noisy = y_clean.copy()
    y_noisy[3 * n_per_class:] = 2
    return torch.from_numpy(x), torch.from_numpy(y_noisy).long(), torch.from_numpy(y_clean).long()


def _as_tensor(name: str, value) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(value).__name__}")
    return value


def _check_training_data(x, y, num_classes):
    x, y = _as_tensor("x", x), _as_tensor("y", y)
    if not x.is_floating_point() or x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty floating point tensor of shape (N, d), got dtype {x.dtype} "
                         f"and shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"x must be finite, got {int((~torch.isfinite(x)).sum())} non-finite entries")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class indices, got dtype {y.dtype}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({x.shape[0]},) to match x, got {tuple(y.shape)}")
    y = y.to(device=x.device, dtype=torch.long)
    if int(y.min()) < 0:
        raise ValueError(f"y must hold class indices >= 0, got {int(y.min())}")
    if num_classes is None:
        num_classes = max(int(y.max()) + 1, 2)
    num_classes = check_int("num_classes", num_classes, ge=2)
    if int(y.max()) >= num_classes:
        raise ValueError(f"y must hold class indices < num_classes={num_classes}, got {int(y.max())}")
    return x, y, num_classes


def _rng_fork(device: torch.device):
    if device.type == "cpu":
        return torch.random.fork_rng(devices=[])
    index = device.index if device.index is not None else torch.get_device_module(device.type).current_device()
    return torch.random.fork_rng(devices=[index], device_type=device.type)


def _regularization(regularizer, model, xb, logits):
    """The regularizer's scalar value and its :class:`~watlib.ot.SinkhornDiagnostics` (or None)."""
    value, diagnostics = regularizer(model, xb, logits=logits), None
    if isinstance(value, tuple):
        if len(value) != 2 or not isinstance(value[1], SinkhornDiagnostics):
            raise ValueError("regularizer must return a scalar tensor or a pair (scalar tensor, "
                             f"watlib.ot.SinkhornDiagnostics), got a tuple of {len(value)} "
                             f"({', '.join(type(v).__name__ for v in value)})")
        value, diagnostics = value
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        got = f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"regularizer must return a scalar tensor, got {got}")
    if not bool(torch.isfinite(value)):
        raise ValueError(f"regularizer must return a finite value, got {value.item()}")
    return value.reshape(()), diagnostics


def train_toy_classifier(
    x,
    y,
    regularizer: Callable | None = None,
    beta: float = 1.0,
    epochs: int = 1000,
    lr: float = 1e-2,
    hidden: Sequence[int] = (64, 64),
    seed: int = 0,
    progress: bool = False,
    batch_size: int | None = None,
    warmup: int = 0,
    num_classes: int | None = None,
):
    r"""Train an :class:`~watlib.models.MLP` on the toy by Adam on Eq. 7 of the paper.

    Each step minimises, over a batch :math:`B` (all the data by default),

    .. math::
        \mathcal{L} = \frac{1}{|B|} \sum_{i \in B} \mathrm{CE}\big(y_i, p_\theta(x_i)\big)
        + \beta_t\, \mathcal{R}(\theta; x_B),
        \qquad \beta_t = \begin{cases} 0 & t < \text{warmup} \\ \beta & \text{otherwise}
        \end{cases}

    where :math:`\mathcal{R}` is ``regularizer(model, x_B, logits=logits_B)``, called with
    the clean logits of the cross-entropy term passed by keyword, so that
    ``functools.partial(watlib.adversarial.wat_loss, C=C, eps=0.2)`` gives WAT,
    ``functools.partial(watlib.adversarial.vat_loss, divergence="kl", eps=0.2)`` VAT (both
    then reuse the clean logits), and ``regularizer=None`` plain cross-entropy (CCE). The
    regularizer is called (and its cost paid) only when :math:`\beta_t > 0`. When its OT
    solver stops unconverged (:class:`watlib.ot.ConvergenceWarning`), the warnings of all
    steps are folded into one at the end of training, with their count.

    The network is built on the device and in the dtype of ``x``, and everything random
    (initialisation, minibatch order, the regularizer's random directions) is drawn from
    torch's generators seeded with ``seed`` inside a fork of the global RNG state: the same
    call gives the same model, and the caller's random state is left as it was.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray, shape (N, d)
        Finite floating point inputs.
    y : torch.Tensor or numpy.ndarray, shape (N,)
        Integer labels in ``[0, num_classes)`` (the noisy labels, in the toy).
    regularizer : callable ``(model, x, logits=...) -> scalar tensor``, optional
        The regularization term :math:`\mathcal{R}`; it must accept the clean logits as the
        keyword argument ``logits`` and return a finite scalar, or a pair (finite scalar,
        :class:`watlib.ot.SinkhornDiagnostics`), as ``wat_loss(..., return_diagnostics=True)``
        and :func:`toy_regularizer` do: the history then records how the OT solves ended.
    beta : float
        Weight :math:`\beta \ge 0` of the regularizer.
    epochs : int
        Passes over the data (>= 1).
    lr : float
        Adam learning rate (> 0); Adam's betas are torch's defaults (0.9, 0.999).
    hidden : sequence of int
        Hidden widths of the MLP.
    seed : int
        Seed of ``torch.manual_seed`` (>= 0).
    progress : bool
        Show a tqdm progress bar over the epochs (off by default so that notebook outputs
        stay deterministic).
    batch_size : int, optional
        Minibatch size (>= 1); full batch when omitted.
    warmup : int
        Number of first epochs trained with :math:`\beta = 0` (the paper's schedule switches
        the regularizer on after 15 epochs); 0 by default.
    num_classes : int, optional
        Number of outputs K (>= 2); ``max(y) + 1`` when omitted.

    Returns
    -------
    model : watlib.models.MLP
        The trained network in eval mode, on the device and in the dtype of ``x``. Its
        attribute ``history`` is a dict of lists of floats, one entry per epoch, each the
        mean over that epoch's batches weighted by their sizes (:func:`watlib.engine.run_epoch`,
        the loop every training of the package shares): ``"loss"`` (the objective
        :math:`\mathcal{L}`), ``"ce"`` (the cross-entropy term) and ``"reg"``
        (:math:`\mathcal{R}`, 0 where it was not evaluated). When the regularizer returns
        diagnostics, also ``"ot_violation_max"`` (the largest marginal violation of the
        epoch's solves, over steps and pairs), ``"ot_iterations_mean"`` and
        ``"ot_iterations_max"`` (Sinkhorn iterations per step), NaN in the epochs where the
        regularizer did not run.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Eq. 7, Algorithm 1, Figure 2).
    .. [2] Kingma, D. P., Ba, J. (2015). Adam: A Method for Stochastic Optimization. ICLR.

    Examples
    --------
    >>> x, y_noisy, y_clean = make_toy_data(n_per_class=30, n_noisy=3, seed=0)
    >>> model = train_toy_classifier(x, y_noisy, epochs=50, hidden=(16,), seed=0)
    >>> model.training, len(model.history["loss"])
    (False, 50)
    >>> model.history["loss"][-1] < model.history["loss"][0]
    True
    >>> again = train_toy_classifier(x, y_noisy, epochs=50, hidden=(16,), seed=0)
    >>> all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
    True
    """
    x, y, num_classes = _check_training_data(x, y, num_classes)
    if regularizer is not None and not callable(regularizer):
        raise TypeError(f"regularizer must be None or a callable (model, x, logits) -> scalar, got {regularizer!r}")
    beta = check_real("beta", beta, ge=0)
    epochs = check_int("epochs", epochs, ge=1)
    lr = check_real("lr", lr, gt=0)
    seed = check_int("seed", seed, ge=0)
    warmup = check_int("warmup", warmup, ge=0)
    check_bool("progress", progress)
    n = x.shape[0]
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, ge=1)
    batch_size = n if batch_size is None else min(batch_size, n)

    with _rng_fork(x.device), folded_convergence_warnings("train_toy_classifier"):
        torch.manual_seed(seed)
        model = MLP(x.shape[1], num_classes, hidden).to(device=x.device, dtype=x.dtype)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        order = torch.Generator().manual_seed(seed)
        history = {"loss": [], "ce": [], "reg": []}
        model.train()

        def step(xb, yb, beta_t):
            logits = model(xb)
            ce = F.cross_entropy(logits, yb)
            reg, diag = _regularization(regularizer, model, xb, logits) if beta_t > 0 else (torch.zeros_like(ce), None)
            if diag is not None:
                solves.add(diag)
            loss = ce + beta_t * reg
            if not bool(torch.isfinite(loss)):
                raise ValueError(f"the loss became non-finite at epoch {epoch} (lr={lr}, beta={beta}); "
                                 "lower lr or beta")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return {"loss": loss.item(), "ce": ce.item(), "reg": reg.item()}

        def batches():
            perm = torch.randperm(n, generator=order).to(x.device) if batch_size < n else None
            for start in range(0, n, batch_size):
                idx = perm[start:start + batch_size] if perm is not None else slice(None)
                yield x[idx], y[idx]

        for epoch in tqdm(range(epochs), disable=not progress, desc="training"):
            beta_t = beta if (regularizer is not None and epoch >= warmup) else 0.0
            solves = SolveStats()  # the epoch's OT solves, when the regularizer reports them
            means = run_epoch(lambda xb, yb: step(xb, yb, beta_t), batches())
            for key in ("loss", "ce", "reg"):
                history[key].append(float(means[key]))
            summary = solves.pop()
            if summary is not None:
                if "ot_violation_max" not in history:  # the first epoch with a reported solve
                    history.update({key: [math.nan] * epoch for key in _OT_KEYS})
                for key in _OT_KEYS:
                    history[key].append(float(summary[key]))
            elif "ot_violation_max" in history:
                for key in _OT_KEYS:
                    history[key].append(math.nan)
    model.eval()
    model.history = history
    return model


def toy_scores(model, x, y_noisy, y_clean) -> dict[str, float]:
    r"""How well a classifier of the toy recovers the clean labels, region by region.

    With :math:`\hat y_i = \operatorname{argmax}_k f_\theta(x_i)_k` and
    :math:`\mathcal{N} = \{i : y^{\text{noisy}}_i \ne y^{\text{clean}}_i\}` the
    mislabelled cluster,

    .. math::
        \text{accuracy} = \frac{1}{N} \sum_i \mathbb{1}[\hat y_i = y^{\text{clean}}_i],
        \qquad
        \text{noisy\_to\_red} = \frac{1}{|\mathcal{N}|} \sum_{i \in \mathcal{N}}
        \mathbb{1}[\hat y_i = 0],

    the clean accuracy restricted to the correctly labelled red and orange points
    (``red_orange``: how well the wavy border is kept) and to the black points (``black``),
    and the fraction of those red and orange points predicted black
    (``red_orange_to_black``: a black band drawn between the two close classes).

    Parameters
    ----------
    model : torch.nn.Module
        Maps (N, 2) inputs to (N, 3) logits; evaluated under ``torch.no_grad()``.
    x : torch.Tensor, shape (N, 2)
    y_noisy, y_clean : torch.Tensor, shape (N,)
        As returned by :func:`make_toy_data`.

    Returns
    -------
    dict of str to float
        ``accuracy``, ``red_orange``, ``black``, ``noisy_to_red`` and
        ``red_orange_to_black``, each in [0, 1]; a data set without noisy points raises
        (``noisy_to_red`` would be 0 / 0).

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2).

    Examples
    --------
    >>> x, y_noisy, y_clean = make_toy_data(n_per_class=20, n_noisy=4)
    >>> oracle = lambda u: torch.nn.functional.one_hot(y_clean, 3).float()
    >>> toy_scores(oracle, x, y_noisy, y_clean)
    {'accuracy': 1.0, 'red_orange': 1.0, 'black': 1.0, 'noisy_to_red': 1.0, 'red_orange_to_black': 0.0}
    """
    if not callable(model):
        raise TypeError(f"model must be a callable torch.nn.Module, got {type(model).__name__}")
    x = _as_tensor("x", x)
    y_noisy, y_clean = _as_tensor("y_noisy", y_noisy), _as_tensor("y_clean", y_clean)
    if x.ndim != 2 or y_noisy.shape != (x.shape[0],) or y_clean.shape != (x.shape[0],):
        raise ValueError(f"x, y_noisy and y_clean must have shapes (N, d), (N,), (N,), got {tuple(x.shape)}, "
                         f"{tuple(y_noisy.shape)}, {tuple(y_clean.shape)}")
    noisy = (y_noisy != y_clean).cpu()
    if not bool(noisy.any()):
        raise ValueError("y_noisy must differ from y_clean somewhere (the mislabelled cluster), got no difference")
    with torch.no_grad():
        pred = model(x).argmax(dim=1).cpu()
    right = pred == y_clean.cpu()
    close = ~noisy & (y_clean.cpu() < 2)
    return {
        "accuracy": float(right.double().mean()),
        "red_orange": float(right[close].double().mean()),
        "black": float(right[y_clean.cpu() == 2].double().mean()),
        "noisy_to_red": float((pred[noisy] == 0).double().mean()),
        "red_orange_to_black": float((pred[close] == 2).double().mean()),
    }


#: The regularizers :func:`toy_regularizer` builds: plain cross-entropy, VAT with each of its
#: divergences, and WAT.
TOY_REGULARIZERS = ("cce", "kl", "l2", "tv", "wat")


def toy_regularizer(kind: str, eps: float, C=None, ot: OTSettings = TRAIN_OT):
    r"""A regularizer for :func:`train_toy_classifier`: VAT, WAT or none.

    ``"kl"``, ``"l2"`` and ``"tv"`` give :func:`watlib.adversarial.vat_loss` with that
    divergence; ``"wat"`` gives :func:`watlib.adversarial.wat_loss` (Eq. 6 with
    :math:`\mathrm{OT}_C^\lambda`) with the solver settings WAT trains with by default,
    :data:`watlib.ot_settings.TRAIN_OT` (run until the largest column-marginal violation
    is below ``tol``, implicit gradients), and with its diagnostics returned, so that the
    training history records the convergence of every epoch; ``"cce"`` gives None (no
    regularizer).

    Parameters
    ----------
    kind : {"cce", "kl", "l2", "tv", "wat"}
        Which regularizer (:data:`TOY_REGULARIZERS`).
    eps : float
        Radius :math:`\varepsilon > 0` of the adversarial perturbation (ignored for ``"cce"``).
    C : torch.Tensor, shape (K, K), optional
        Ground cost; required for ``"wat"`` and only for it.
    ot : watlib.ot_settings.OTSettings
        WAT's :math:`\lambda` and solver settings (training's, :data:`~watlib.ot_settings.TRAIN_OT`,
        by default).

    Returns
    -------
    callable or None
        ``(model, x, logits=...) -> value`` for VAT, ``-> (value, SinkhornDiagnostics)`` for
        WAT; None for ``"cce"``.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Eq. 6, Figure 2).

    Examples
    --------
    >>> x, y_noisy, _ = make_toy_data(n_per_class=20, n_noisy=2, seed=0)
    >>> R = toy_regularizer("wat", eps=0.2, C=toy_cost(dtype=torch.float64), ot=TRAIN_OT.replace(reg=0.05))
    >>> model = train_toy_classifier(x.double(), y_noisy, regularizer=R, epochs=4, warmup=2, hidden=(8,))
    >>> model.history["ot_violation_max"][:2]  # the warm-up epochs: no OT solve
    [nan, nan]
    >>> max(model.history["ot_violation_max"][2:]) <= 1e-3  # watlib.ot.WARN_VIOLATION
    True
    >>> toy_regularizer("cce", eps=0.2) is None
    True
    """
    kind = check_choice("kind", kind, TOY_REGULARIZERS)
    if kind == "cce":
        return None
    eps = check_real("eps", eps, gt=0)
    if kind != "wat":
        if C is not None:
            raise ValueError(f"C is the ground cost of WAT only; got a cost with kind={kind!r}")
        return partial(vat_loss, divergence=kind, eps=eps)
    if C is None:
        raise ValueError("kind='wat' needs the ground cost C, got None")
    wasserstein(C, ot)  # C and ot checked now
    return partial(wat_loss, C=C, ot=ot, eps=eps, return_diagnostics=True)


def _run_kwargs(name, spec, common):
    if spec is None or callable(spec):
        return {**common, "regularizer": spec}
    if isinstance(spec, Mapping):
        if "regularizer" not in spec:
            raise ValueError(f"runs[{name!r}] must name its 'regularizer' (None for CCE), got keys {sorted(spec)}")
        bad = {"x", "y", "seed", "num_classes"} & set(spec)
        if bad:
            raise ValueError(f"runs[{name!r}] may not set {sorted(bad)}: the draw decides the data and the seed")
        return {**common, **spec}
    raise TypeError(f"runs[{name!r}] must be a regularizer (callable or None) or a dict of keyword arguments of "
                    f"train_toy_classifier, got {type(spec).__name__}")


def _nan_reduce(history, key, reduce):
    values = [v for v in history.get(key, ()) if not math.isnan(v)]
    return float(reduce(values)) if values else math.nan


def train_toy_draws(runs: Mapping, draws=5, n_per_class: int = 300, n_noisy: int = 20,
                    dtype: torch.dtype = torch.float64, return_models: bool = False, progress: bool = False,
                    **train_kwargs):
    r"""Train every run of ``runs`` on each of several draws of the toy; one row of scores per run and draw.

    Draw :math:`d` is the data ``make_toy_data(n_per_class, n_noisy, seed=d)`` and the
    training seed :math:`d` (initialisation, minibatch order and the regularizer's random
    directions), so that every run of a draw sees the same points and starts from the same
    network, and two draws differ in both. Each model is scored by :func:`toy_scores`
    against the clean labels of its draw, and the convergence of its regularizer's OT solves
    is summarised over all its epochs:

    .. math::
        \text{ot\_violation\_max} = \max_{\text{epochs}}\ \max_{\text{steps, pairs}}
        \big\|\mathbf{T}^\top\mathbf{1} - \mathbf{b}\big\|_1

    (NaN for a regularizer that reports no diagnostics, such as VAT or CCE). A run whose
    solver stopped above :data:`watlib.ot.WARN_VIOLATION` warns
    (:class:`watlib.ot.ConvergenceWarning`) once, naming the run and the draw.

    Parameters
    ----------
    runs : mapping of str to regularizer or dict
        Name of each run and either its regularizer (a callable as accepted by
        :func:`train_toy_classifier`, or None for plain cross-entropy) or a dict of keyword
        arguments of :func:`train_toy_classifier` for that run (with a ``"regularizer"``
        entry), which override ``train_kwargs``: for example ``{"regularizer": R, "beta": 1.0}``.
    draws : int or sequence of int
        The draws: ``range(draws)`` for an int (>= 1), or the seeds themselves.
    n_per_class, n_noisy : int
        Sizes of the data, as in :func:`make_toy_data`.
    dtype : torch.dtype
        Floating dtype of the inputs, hence of the networks and of the OT solves (float64 by
        default: it keeps Sinkhorn in the scaling domain up to :math:`\max C/\lambda` of
        about 280, where float32 needs the slower log domain above about 30).
    return_models : bool
        Also return the trained models.
    progress : bool
        A progress bar over the runs (on stderr).
    **train_kwargs
        Keyword arguments of :func:`train_toy_classifier` shared by every run (``beta``,
        ``epochs``, ``warmup``, ``lr``, ``hidden``, ``batch_size``); not ``seed``.

    Returns
    -------
    scores : pandas.DataFrame
        One row per run and draw, ordered by run (in the order of ``runs``) then draw, with
        columns ``run``, ``draw``, the five scores of :func:`toy_scores` (``accuracy``,
        ``red_orange``, ``black``, ``noisy_to_red``, ``red_orange_to_black``),
        ``ot_violation_max``, ``ot_iterations_mean`` (mean over the regularized epochs of the
        mean iterations per step), ``ot_iterations_max`` and ``seconds`` (wall-clock time of
        the training).
    models : dict of (str, int) to watlib.models.MLP
        Only with ``return_models=True``: the model of each (run, draw), with its
        ``history``.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2 and the toy's discussion in Section 4).

    Examples
    --------
    >>> runs = {"CCE": None, "KL": toy_regularizer("kl", eps=0.2)}
    >>> scores = train_toy_draws(runs, draws=2, n_per_class=20, n_noisy=2, epochs=5, hidden=(8,))
    >>> scores[["run", "draw"]].values.tolist()
    [['CCE', 0], ['CCE', 1], ['KL', 0], ['KL', 1]]
    >>> bool(scores["accuracy"].between(0, 1).all()), bool(scores["ot_violation_max"].isna().all())
    (True, True)
    """
    with needs_extra("plot", "train_toy_draws' table"):
        import pandas as pd
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError(f"runs must be a non-empty mapping of run names to regularizers, got {runs!r}")
    if "seed" in train_kwargs:
        raise ValueError("train_kwargs may not set seed: draw d trains with seed d")
    check_bool("return_models", return_models)
    check_bool("progress", progress)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    if isinstance(draws, (int, np.integer)) and not isinstance(draws, bool):
        draws = range(check_int("draws", draws, ge=1))
    draws = [check_int("draws", d, ge=0) for d in draws]
    if not draws or len(set(draws)) != len(draws):
        raise ValueError(f"draws must be >= 1 or a non-empty sequence of distinct seeds, got {draws!r}")
    kwargs = {name: _run_kwargs(name, spec, train_kwargs) for name, spec in runs.items()}

    rows, models = [], {}
    bar = tqdm(total=len(draws) * len(runs), disable=not progress, desc="toy runs")
    for d in draws:
        x, y_noisy, y_clean = make_toy_data(n_per_class=n_per_class, n_noisy=n_noisy, seed=d)
        x = x.to(dtype)
        for name, kw in kwargs.items():
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model = train_toy_classifier(x, y_noisy, seed=d, **kw)
            seconds = time.perf_counter() - start
            for w in caught:
                prefix = f"{name}, draw {d}: " if issubclass(w.category, ConvergenceWarning) else ""
                warnings.warn_explicit(f"{prefix}{w.message}", w.category, w.filename, w.lineno)
            h = model.history
            rows.append({"run": name, "draw": d, **toy_scores(model, x, y_noisy, y_clean),
                         "ot_violation_max": _nan_reduce(h, "ot_violation_max", max),
                         "ot_iterations_mean": _nan_reduce(h, "ot_iterations_mean", np.mean),
                         "ot_iterations_max": _nan_reduce(h, "ot_iterations_max", max),
                         "seconds": seconds})
            if return_models:
                models[(name, d)] = model
            bar.update()
    bar.close()
    order = {name: i for i, name in enumerate(runs)}
    frame = pd.DataFrame(rows)
    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: (order[frame["run"].iat[i]], i))]
    frame = frame.reset_index(drop=True)
    return (frame, models) if return_models else frame


def summarize_draws(scores, columns: Sequence[str] | None = None, by: str = "run", digits: int = 3):
    r"""Mean ± standard deviation over draws of each column, per run, as strings for a table.

    .. math::
        \bar s = \frac{1}{n} \sum_{d=1}^{n} s_d, \qquad
        \sigma = \sqrt{\frac{1}{n - 1} \sum_{d=1}^{n} (s_d - \bar s)^2}

    over the :math:`n` draws of a run (the sample standard deviation; one draw shows its
    value alone, and a column that is NaN for a run, such as the OT diagnostics of VAT,
    shows "–").

    Parameters
    ----------
    scores : pandas.DataFrame
        As returned by :func:`train_toy_draws` (a column ``by`` and numeric columns).
    columns : sequence of str, optional
        The columns to summarise; the five scores of :func:`toy_scores` when omitted.
    by : str
        The column that names the runs.
    digits : int
        Decimals shown (>= 0).

    Returns
    -------
    pandas.DataFrame
        Index: the runs, in their order of appearance; columns: ``columns``; cells
        ``"mean ± std"``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"run": ["a", "a", "b"], "draw": [0, 1, 0], "accuracy": [0.9, 0.8, 0.7]})
    >>> summarize_draws(scores, ["accuracy"], digits=2)
           accuracy
    run
    a   0.85 ± 0.07
    b          0.70
    """
    if columns is None:
        columns = ["accuracy", "red_orange", "black", "noisy_to_red", "red_orange_to_black"]
    columns = list(columns)
    digits = check_int("digits", digits, ge=0)
    missing = [c for c in [by, *columns] if c not in scores.columns]
    if missing:
        raise ValueError(f"scores has no column(s) {missing}; it has {list(scores.columns)}")

    def cell(values):
        values = values.dropna()
        if values.empty:
            return "–"
        if len(values) == 1:
            return f"{values.iloc[0]:.{digits}f}"
        return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"

    groups = scores.groupby(by, sort=False)
    return groups[columns].agg(cell)
