r"""The ten training objectives of the paper's Table 2 behind one small interface.

A :class:`Method` turns a minibatch of inputs and (noisy) labels into a scalar loss for one
optimisation step. The training loop (:mod:`watlib.train`) knows nothing else about it:

* ``build(make_model)`` returns the networks the method trains (two for Co-teaching) and
  ``predictor(models)`` the one whose predictions are evaluated;
* ``loss(models, x, y, epoch)`` is the objective of one step;
* ``end_epoch(models, epoch, context)`` updates per-epoch state (D2L's dimensionality) and
  returns values worth recording (the convergence of WAT's Sinkhorn over the epoch);
* ``state_dict`` / ``load_state_dict`` carry that state through checkpoints.

============== ===========================================================================
name           objective (``p`` = softmax of the logits, ``y`` the noisy label)
============== ===========================================================================
``cce``        cross-entropy :math:`-\log p_y`
``backward``   :math:`-\sum_j (\hat T^{-1})_{y j} \log p_j` (Patrini et al. 2017)
``forward``    :math:`-\log (p^\top \hat T)_y` (Patrini et al. 2017)
``unhinged``   :math:`\frac1K\sum_k (1 - \bar y_k f_k)` on batch-normalised scores
               (van Rooyen et al. 2015)
``bootsoft``   :math:`-\sum_k (\beta_b \bar y_k + (1-\beta_b) p_k) \log p_k`,
               :math:`\beta_b = 0.95` (Reed et al. 2015)
``coteaching`` two networks, each trained on the small-loss part of the batch chosen by
               the other (Han et al. 2018)
``d2l``        cross-entropy until the local intrinsic dimensionality turns, then a target
               mixing the label and the prediction (Ma et al. 2018)
``vat``        CE + :math:`\beta` KL-VAT regularizer (Miyato et al. 2018; Eq. 6 with KL)
``wat01``      CE + :math:`\beta` WAT with the 0-1 cost (the paper's WAT\ :sub:`0-1`)
``watc``       CE + :math:`\beta` WAT with the word-vector cost (the paper's WAT\ :sub:`C`)
============== ===========================================================================

:math:`\bar y` is the one-hot noisy label and :math:`\hat T` the row-stochastic transition
matrix estimated from a network trained with cross-entropy on the noisy labels, an explicit
input of the two corrections (:func:`watlib.train.estimate_transition` takes it from the CCE
run; the methods are never handed the true :math:`T`).

Each method is a class that declares what the rest of watlib needs to know of it (its
``name``, ``label``, ``default_beta``, what it ``needs``: a ground cost, the estimate
:math:`\hat T`, a validation split; the epoch its own loss starts, ``first_active_epoch``)
and is registered (:func:`register_method`). :data:`METHODS`, :data:`METHOD_LABELS`, the
configurations' checks, the command line's choices and the results tables read the registry,
so a new method is its class and its tests: no other file changes.

References
----------
.. [1] Patrini, G., Rozza, A., Krishna Menon, A., Nock, R., Qu, L. (2017). Making Deep Neural
   Networks Robust to Label Noise: a Loss Correction Approach. CVPR.
.. [2] van Rooyen, B., Menon, A., Williamson, R. C. (2015). Learning with Symmetric Label
   Noise: The Importance of Being Unhinged. NeurIPS.
.. [3] Reed, S. et al. (2015). Training Deep Neural Networks on Noisy Labels with
   Bootstrapping. ICLR workshop.
.. [4] Han, B. et al. (2018). Co-teaching: Robust Training of Deep Neural Networks with
   Extremely Noisy Labels. NeurIPS.
.. [5] Ma, X. et al. (2018). Dimensionality-Driven Learning with Noisy Labels. ICML.
.. [6] Miyato, T., Maeda, S., Ishii, S., Koyama, M. (2018). Virtual Adversarial Training. TPAMI.
.. [7] Damodaran, B. B. et al. Wasserstein Adversarial Training for Label Noise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import paper
from ._checks import check_int, check_real, check_row_stochastic
from ._registry import Registry
from .adversarial import vat_loss, wat_loss
from .engine import SolveStats
from .ot import WARN_VIOLATION, ConvergenceWarning
from .ot_settings import OTSettings, check_ot_settings

__all__ = [
    "METHODS",
    "METHOD_LABELS",
    "NEEDS",
    "COST_METHODS",
    "TRANSITION_METHODS",
    "VALIDATION_METHODS",
    "REFERENCE_METHOD",
    "Method",
    "MethodSettings",
    "register_method",
    "unregister_method",
    "method_class",
    "make_method",
    "estimate_transition_matrix",
    "lid_mle",
]

#: What a method may need besides its inputs and noisy labels, as :attr:`Method.needs` declares
#: it: ``"cost"`` a (K, K) ground cost (WAT), ``"transition"`` the estimate :math:`\hat T` of
#: the reference run (Forward, Backward), ``"validation"`` a noisy validation split, on which the
#: run selects the model whose predictions give :math:`\hat T` (the reference run, CCE).
NEEDS = ("cost", "transition", "validation")

_REGISTRY = Registry("method")

#: The names of the registered methods, in registration order: Table 2's ten
#: (:data:`watlib.paper.TABLE2_METHODS`), then any registered with :func:`register_method`. A
#: live view: it sees a method registered after import.
METHODS = _REGISTRY.names()
#: Each method's label in tables and figures (``Method.label``), live.
METHOD_LABELS = _REGISTRY.attribute("label")
#: The methods whose regularizer solves OT problems with a ground cost.
COST_METHODS = _REGISTRY.names(lambda cls: "cost" in cls.needs)
#: The loss corrections of Patrini et al.: they need the estimate of T that the reference run
#: gives (:func:`estimate_transition_matrix`).
TRANSITION_METHODS = _REGISTRY.names(lambda cls: "transition" in cls.needs)
#: The methods that hold out a noisy validation split (the reference run).
VALIDATION_METHODS = _REGISTRY.names(lambda cls: "validation" in cls.needs)
#: The method of the run that Forward, Backward and the ``features`` cost take their estimates
#: from: plain cross-entropy on the same noisy labels.
REFERENCE_METHOD = "cce"


@dataclass(frozen=True)
class MethodSettings:
    r"""What :func:`make_method` knows of a run, checked; each method takes the part it uses.

    Attributes
    ----------
    noise : float
        The share of noisy training labels (Co-teaching's forget rate).
    epochs : int
        Training epochs (D2L's :math:`E`).
    beta : float or None
        Weight of an adversarial regularizer; None: the method's ``default_beta``.
    eps, xi, n_power, warmup
        Settings of the adversarial regularizers (Algorithm 1).
    cost : torch.Tensor, shape (K, K), or None
        The ground cost of a method that needs one.
    transition : torch.Tensor, shape (K, K), or None
        :math:`\hat T` for a method that needs it.
    ot : watlib.ot_settings.OTSettings
        WAT's :math:`\lambda` and OT solver settings.
    init_epoch : int
        D2L's wait before its turning-point test.

    Examples
    --------
    >>> method_class("vat").first_active_epoch(MethodSettings(warmup=12))
    12
    """

    noise: float = 0.0
    epochs: int = paper.SCHEDULES["fashion_mnist"].epochs
    beta: float | None = None
    eps: float = paper.EPS
    xi: float = paper.XI
    n_power: int = paper.N_POWER
    warmup: int = paper.WARMUP
    cost: torch.Tensor | None = None
    transition: torch.Tensor | None = None
    ot: OTSettings = OTSettings()
    init_epoch: int = 0


class Method:
    """One training objective. Subclasses override :meth:`loss` and, where needed, the hooks.

    The base class is plain cross-entropy on the noisy labels. A subclass declares what the
    rest of watlib needs to know of it in class attributes, and :func:`register_method` makes
    it a method of :data:`METHODS` (the configurations, the command line and the results
    tables read them from there):

    Attributes
    ----------
    name : str
        The method's name in :data:`METHODS` (configurations, record files, the command line).
    label : str
        Its label in tables and figures (:data:`METHOD_LABELS`).
    default_beta : float or None
        The weight of its regularizer when a configuration gives none (None: no regularizer).
    needs : frozenset of str
        What it needs beyond inputs and labels, among :data:`NEEDS`.
    default_cost : str or None
        For a method that needs a cost: the ground cost's name (``watlib.train.COSTS``) when a
        configuration gives none.
    fields : tuple of str
        Configuration fields of its own (``TrainConfig``), that no other method may set.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(3, 2)
    >>> _ = torch.nn.init.zeros_(net.weight), torch.nn.init.zeros_(net.bias)
    >>> method = Method()
    >>> models = method.build(lambda: net)
    >>> round(method.loss(models, torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]), epoch=0).item(), 6)  # log 2
    0.693147
    """

    name: ClassVar[str] = "cce"
    label: ClassVar[str] = "CCE"
    default_beta: ClassVar[float | None] = None
    needs: ClassVar[frozenset] = frozenset()
    default_cost: ClassVar[str | None] = None
    fields: ClassVar[tuple] = ()

    @classmethod
    def from_settings(cls, settings: MethodSettings) -> Method:
        """The method for a run of these (checked) settings; a method without settings ignores them."""
        return cls()

    @classmethod
    def first_active_epoch(cls, settings: MethodSettings) -> int:
        """The first epoch (0-based) whose loss can differ from cross-entropy: 0 for most methods,
        the warm-up of a regularized one. A run of no more epochs than this trains plain CE."""
        return 0

    @classmethod
    def first_active_reason(cls, settings: MethodSettings) -> str:
        """Which settings make :meth:`first_active_epoch` (for the error of a run too short for it)."""
        return ""

    def build(self, make_model: Callable[[], nn.Module]) -> list[nn.Module]:
        """The networks this method trains; ``make_model()`` builds one fresh network."""
        return [make_model()]

    def predictor(self, models: Sequence[nn.Module]) -> nn.Module:
        """The network whose predictions are evaluated."""
        return models[0]

    def loss(self, models, x, y, epoch: int) -> torch.Tensor:
        """Scalar loss of one step on inputs ``x`` (B, ...) and noisy labels ``y`` (B,)."""
        return F.cross_entropy(models[0](x), y)

    def end_epoch(self, models, epoch: int, context) -> dict:
        """Per-epoch update after training epoch ``epoch`` (``context``: see
        ``watlib.train.RunContext``); returns values worth recording."""
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def __repr__(self):
        return f"{type(self).__name__}()"


def register_method(cls: type[Method], *, replace: bool = False) -> type[Method]:
    """Make ``cls`` a method of :data:`METHODS`, under ``cls.name``; usable as a class decorator.

    Its name then passes the configurations' checks, is a choice of the command line and gets
    a row of the results tables, labelled ``cls.label``.

    Parameters
    ----------
    cls : type
        A subclass of :class:`Method` declaring at least ``name`` and ``label``.
    replace : bool
        Replace a method of the same name (else that is a ValueError).

    Returns
    -------
    type
        ``cls``.

    Examples
    --------
    >>> @register_method
    ... class Halved(Method):
    ...     "Half the cross-entropy."
    ...     name, label = "halved", "CCE / 2"
    ...     def loss(self, models, x, y, epoch):
    ...         return super().loss(models, x, y, epoch) / 2
    >>> "halved" in METHODS, METHOD_LABELS["halved"]
    (True, 'CCE / 2')
    >>> unregister_method("halved").__name__, "halved" in METHODS
    ('Halved', False)
    """
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"cls must be a subclass of watlib.methods.Method, got {cls!r}")
    if "name" not in vars(cls) or "label" not in vars(cls):
        raise ValueError(f"{cls.__name__} must declare its own name and label (class attributes)")
    unknown = set(cls.needs) - set(NEEDS)
    if unknown:
        raise ValueError(f"{cls.__name__}.needs must be a subset of {NEEDS}, got {sorted(cls.needs)}")
    if "cost" in cls.needs and cls.default_cost is None:
        raise ValueError(f"{cls.__name__} needs a cost and must declare its default_cost")
    _REGISTRY.register(cls.name, cls, replace=replace)
    return cls


def unregister_method(name: str) -> type[Method]:
    """Remove a method from :data:`METHODS` and return its class (see :func:`register_method`).

    Examples
    --------
    >>> unregister_method("mixup")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of ('cce', 'backward', 'forward', 'unhinged', 'bootsoft', 'coteaching', 'd2l', 'vat', 'wat01', 'watc'), got 'mixup'
    """
    return _REGISTRY.unregister(name)


def method_class(name: str) -> type[Method]:
    """The class of the method called ``name`` (a ValueError naming the known methods otherwise).

    Examples
    --------
    >>> method_class("watc").label, method_class("watc").default_cost
    ('WAT_C', 'word_vectors')
    """
    return _REGISTRY[name]


class CCE(Method):
    """Categorical cross-entropy on the noisy labels; the reference run of Forward, Backward and
    the ``features`` cost, selected on a noisy validation split."""

    name = "cce"
    label = "CCE"
    needs = frozenset({"validation"})


def estimate_transition_matrix(probs, filter_outlier: bool = True) -> torch.Tensor:
    r"""Estimate the row-stochastic noise transition matrix from predicted probabilities.

    For each class :math:`i`, take the sample :math:`x^{(i)}` the network finds most typical of
    class :math:`i` and use its predicted distribution as row :math:`i`:

    .. math::
        x^{(i)} = \operatorname*{argmax}_x \; p_i(x), \qquad \hat T_{ij} = p_j(x^{(i)}).

    With ``filter_outlier`` the argmax is taken among the samples below the 97th percentile
    of :math:`p_i`, as in Patrini et al.'s experiments, to skip over-confident outliers.
    Rows are renormalised to sum to 1.

    Parameters
    ----------
    probs : torch.Tensor, shape (N, K)
        Predicted class probabilities of a network trained with cross-entropy on the noisy
        labels, on the (noisy) training inputs.
    filter_outlier : bool
        Use the 97th-percentile rule instead of the plain argmax.

    Returns
    -------
    torch.Tensor, shape (K, K)
        :math:`\hat T`, row-stochastic, :math:`\hat T_{ij} \approx P(\tilde y = j \mid y = i)`.

    References
    ----------
    .. [1] Patrini, G. et al. (2017). Making Deep Neural Networks Robust to Label Noise: a Loss
       Correction Approach. CVPR.

    Examples
    --------
    >>> import torch
    >>> probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> estimate_transition_matrix(probs, filter_outlier=False)
    tensor([[0.9000, 0.1000],
            [0.2000, 0.8000]])
    """
    if not isinstance(probs, torch.Tensor) or probs.dim() != 2:
        raise ValueError(f"probs must be a (N, K) tensor, got {getattr(probs, 'shape', type(probs))}")
    if probs.shape[0] < 1:
        raise ValueError("probs must hold at least one sample")
    if not bool(torch.isfinite(probs).all()) or bool((probs < 0).any()):
        raise ValueError("probs must be finite and non-negative")
    rows = []
    for i in range(probs.shape[1]):
        score = probs[:, i]
        if filter_outlier and probs.shape[0] > 1:
            thresh = torch.quantile(score.double(), 0.97, interpolation="higher").to(score.dtype)
            below = score < thresh
            score = torch.where(below, score, torch.zeros_like(score)) if below.any() else score
        rows.append(probs[int(torch.argmax(score))])
    T = torch.stack(rows)
    return T / T.sum(dim=1, keepdim=True)


class _Corrected(Method):
    """Shared part of the Forward and Backward corrections: a given estimate :math:`\\hat T`."""

    needs = frozenset({"transition"})

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.transition)

    def __init__(self, transition):
        check_row_stochastic("transition", transition)
        if not isinstance(transition, torch.Tensor):
            transition = torch.as_tensor(transition, dtype=torch.float64)
        self.T = transition

    def state_dict(self):
        return {"T": self.T}

    def load_state_dict(self, state):
        self.T = state["T"]


class Forward(_Corrected):
    r"""Forward correction: :math:`-\log (p^\top \hat T)_y`, computed in log space."""

    name = "forward"
    label = "Forward"

    def loss(self, models, x, y, epoch):
        log_p = F.log_softmax(models[0](x), dim=1)
        T = self.T.to(log_p)
        # log (p^T T)_j = logsumexp_i (log p_i + log T_ij); log 0 = -inf is fine there.
        log_noisy = torch.logsumexp(log_p.unsqueeze(2) + torch.log(T).unsqueeze(0), dim=1)
        return F.nll_loss(log_noisy, y)


class Backward(_Corrected):
    r"""Backward correction: :math:`-\sum_j (\hat T^{-1})_{yj} \log p_j`."""

    name = "backward"
    label = "Backward"

    def __init__(self, transition):
        super().__init__(transition)
        cond = torch.linalg.cond(self.T.double())
        if not torch.isfinite(cond) or cond > 1e8:
            raise ValueError(
                f"the estimated transition matrix is singular (condition number {float(cond):.3g}); "
                "the backward correction needs an invertible T"
            )

    def loss(self, models, x, y, epoch):
        log_p = F.log_softmax(models[0](x), dim=1)
        T_inv = torch.linalg.inv(self.T.double()).to(log_p)
        return -(T_inv[y] * log_p).sum(dim=1).mean()


class Unhinged(Method):
    r"""Unhinged loss :math:`\frac1K \sum_k (1 - \bar y_k f_k(x))` on bounded scores.

    The unhinged loss is linear in the scores, so it diverges on an unbounded network; as in
    Patrini et al.'s experiments the scores are the network's outputs passed through a batch
    normalisation layer (added by :meth:`build`, also used at prediction time).
    """

    name = "unhinged"
    label = "Unhinged"

    def build(self, make_model):
        net = make_model()
        return [nn.Sequential(net, nn.BatchNorm1d(_num_outputs(net)))]

    def loss(self, models, x, y, epoch):
        f = models[0](x)
        onehot = F.one_hot(y, f.shape[1]).to(f)
        return (1.0 - onehot * f).mean()


class Bootsoft(Method):
    r"""Soft bootstrapping: :math:`-\sum_k (\beta_b \bar y_k + (1 - \beta_b) p_k) \log p_k`.

    The prediction inside the target is not detached, as in Reed et al. and Patrini et al.'s
    implementation. Dense logits (B, K, H, W) with labels (B, H, W) get the loss per pixel,
    averaged.
    """

    name = "bootsoft"
    label = "Bootsoft"

    def __init__(self, beta: float = 0.95):
        self.beta = beta

    def loss(self, models, x, y, epoch):
        log_p = F.log_softmax(models[0](x), dim=1)
        # one_hot puts classes last; dense logits (B, K, H, W) have them in dimension 1
        onehot = F.one_hot(y, log_p.shape[1]).movedim(-1, 1).to(log_p)
        target = self.beta * onehot + (1 - self.beta) * log_p.exp()
        return -(target * log_p).sum(dim=1).mean()


class CoTeaching(Method):
    r"""Co-teaching: two networks exchange their small-loss samples.

    At epoch :math:`e` each network keeps the fraction :math:`1 - \tau \min(e / T_k, 1)` of the
    batch with the smallest loss under it, and its peer is trained on those samples;
    :math:`\tau` is the forget rate (the noise rate) and :math:`T_k = 10` epochs.
    """

    name = "coteaching"
    label = "CoTeaching"

    @classmethod
    def from_settings(cls, settings):
        return cls(forget_rate=settings.noise)

    def __init__(self, forget_rate: float, ramp_epochs: int = 10):
        if not 0 <= forget_rate < 1:
            raise ValueError(f"forget_rate must be in [0, 1), got {forget_rate!r}")
        self.forget_rate = forget_rate
        self.ramp_epochs = ramp_epochs

    def build(self, make_model):
        return [make_model(), make_model()]

    def rate(self, epoch: int) -> float:
        return self.forget_rate * min(epoch / self.ramp_epochs, 1.0)

    def loss(self, models, x, y, epoch):
        l1 = F.cross_entropy(models[0](x), y, reduction="none")
        l2 = F.cross_entropy(models[1](x), y, reduction="none")
        keep = max(1, int(round((1 - self.rate(epoch)) * len(y))))
        idx1 = torch.argsort(l1.detach())[:keep]  # small-loss samples according to network 1
        idx2 = torch.argsort(l2.detach())[:keep]
        return l1[idx2].mean() + l2[idx1].mean()


def lid_mle(features: torch.Tensor, k: int = 20) -> torch.Tensor:
    r"""Maximum-likelihood local intrinsic dimensionality of each point within a batch.

    .. math::
        \widehat{\mathrm{LID}}(x) = -\Big(\frac1k \sum_{i=1}^k \log \frac{r_i(x)}{r_k(x)}\Big)^{-1}

    where :math:`r_i(x)` is the distance from :math:`x` to its :math:`i`-th nearest neighbour in
    the batch (Amsaleg et al. 2015, as used by Ma et al. 2018).

    Parameters
    ----------
    features : torch.Tensor, shape (N, D)
        Representations of N > k points.
    k : int
        Number of neighbours.

    Returns
    -------
    torch.Tensor, shape (N,)

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> lid = lid_mle(torch.randn(500, 3, generator=g), k=20).mean()
    >>> bool(1.5 < lid < 4.5)   # points filling a 3-d volume
    True
    """
    if features.dim() != 2 or features.shape[0] <= k:
        raise ValueError(f"features must be (N, D) with N > k = {k}, got shape {tuple(features.shape)}")
    d = torch.cdist(features.double(), features.double())
    r = torch.topk(d, k + 1, dim=1, largest=False).values[:, 1:]  # drop the point itself
    r = r.clamp_min(torch.finfo(torch.float64).tiny)  # duplicates: distance 0 -> log stays finite
    return -1.0 / torch.log(r / r[:, -1:]).mean(dim=1).clamp_max(-torch.finfo(torch.float64).eps)


class D2L(Method):
    r"""Dimensionality-driven learning (Ma et al. 2018).

    After each epoch the mean LID (:func:`lid_mle`, k = 20) of the representation that feeds
    the network's last linear layer is measured on a fixed set of training samples. Once it
    turns (rises more than 2 standard deviations above the mean of the previous
    ``window`` epochs), the target becomes
    :math:`\alpha \bar y + (1 - \alpha)\, \mathrm{onehot}(\arg\max p)` with
    :math:`\alpha = \exp(-(e / E)\, \mathrm{LID}_e / \min_{e' \le e} \mathrm{LID}_{e'})`.
    As in Ma et al.'s code, the turning point is tested only once more than
    ``init_epoch + window`` LID values exist (the data set's ``d2l_init_epoch``,
    :class:`watlib.data.registry.DatasetInfo`: 5 for Fashion-MNIST,
    so at the ``cpu`` preset's 50 epochs the earliest switch is after epoch 11); the first
    epochs, where LID falls fast, cannot trigger it.

    Examples
    --------
    >>> D2L(epochs=50, init_epoch=5).init_epoch
    5
    >>> D2L(epochs=50, init_epoch=-1)
    Traceback (most recent call last):
    ...
    ValueError: init_epoch must be an int >= 0, got -1
    """

    name = "d2l"
    label = "D2L"
    fields = ("init_epoch",)
    #: Epochs of LID before the turning point is tested (Ma et al.'s ``window``).
    window = 5

    @classmethod
    def from_settings(cls, settings):
        return cls(epochs=settings.epochs, init_epoch=settings.init_epoch)

    @classmethod
    def first_active_epoch(cls, settings):
        # the test runs after epoch e (0-based) once e + 1 > init_epoch + window LID values exist;
        # a turn found then changes the target from epoch e + 1 on
        return settings.init_epoch + cls.window + 1

    @classmethod
    def first_active_reason(cls, settings):
        return f"init_epoch={settings.init_epoch}, then a window of {cls.window} epochs, then the turn"

    def __init__(self, epochs: int, k: int = 20, n_samples: int = 1280, batch: int = 128, init_epoch: int = 0):
        self.epochs = epochs
        self.k = k
        self.init_epoch = check_int("init_epoch", init_epoch, ge=0)
        self.n_samples = n_samples
        self.batch = batch
        self.lids: list[float] = []
        self.turning_epoch: int | None = None
        self.alpha = 1.0

    def loss(self, models, x, y, epoch):
        logits = models[0](x)
        if self.turning_epoch is None:
            return F.cross_entropy(logits, y)
        K = logits.shape[1]
        pred = F.one_hot(logits.detach().argmax(dim=1), K).to(logits)
        target = self.alpha * F.one_hot(y, K).to(logits) + (1 - self.alpha) * pred
        return -(target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()

    def end_epoch(self, models, epoch, context):
        x = context.fixed_train_inputs(self.n_samples)
        feats = _penultimate_features(models[0], x, self.batch)
        lid = float(torch.cat([lid_mle(f, self.k) for f in feats if f.shape[0] > self.k]).mean())
        self.lids.append(lid)
        if self.turning_epoch is None and len(self.lids) > self.init_epoch + self.window:
            prev = np.array(self.lids[-self.window - 1 : -1])
            if lid - prev.mean() > 2 * prev.std():
                self.turning_epoch = epoch
        if self.turning_epoch is not None:
            self.alpha = math.exp(-((epoch + 1) / self.epochs) * lid / min(self.lids))
        return {"lid": lid, "alpha": self.alpha}

    def state_dict(self):
        return {"lids": list(self.lids), "turning_epoch": self.turning_epoch, "alpha": self.alpha}

    def load_state_dict(self, state):
        self.lids = list(state["lids"])
        self.turning_epoch = state["turning_epoch"]
        self.alpha = state["alpha"]


class Adversarial(Method):
    r"""CE + :math:`\beta_t` times the VAT or WAT regularizer (Eq. 7), :math:`\beta_t = 0` for
    the first ``warmup`` epochs. The clean logits of the CE term are reused by the
    regularizer, so a step costs three forward passes and two backward passes.

    With a ground cost (WAT), every step records the convergence of the Sinkhorn iterations
    of the regularizer's final OT loss (:func:`watlib.adversarial.wat_loss` with
    ``return_diagnostics=True``); :meth:`end_epoch` reports, for the epoch, the mean and the
    largest marginal violation over all pairs and the mean and largest number of
    iterations, and warns with :class:`watlib.ot.ConvergenceWarning` once per epoch when the
    largest violation exceeds :data:`watlib.ot.WARN_VIOLATION` (the per-step warnings of
    the solver are folded into this one).

    The registered methods are its subclasses :class:`VAT`, :class:`WAT01` and :class:`WATC`
    (through :class:`WAT`).
    """

    @classmethod
    def from_settings(cls, settings):
        s = settings
        beta = cls.default_beta if s.beta is None else s.beta
        return cls(beta, s.eps, s.xi, s.n_power, s.warmup, cost=s.cost, ot=s.ot)

    @classmethod
    def first_active_epoch(cls, settings):
        return settings.warmup

    @classmethod
    def first_active_reason(cls, settings):
        return f"warmup={settings.warmup}"

    def __init__(self, beta, eps, xi, n_power, warmup, cost=None, ot=OTSettings()):
        if ("cost" in self.needs) != (cost is not None):
            raise ValueError(f"method {self.name!r} " + ("needs a ground cost: pass cost=(K, K) tensor"
                                                         if cost is None else "takes no ground cost, got one"))
        self.beta = beta
        self.eps = eps
        self.xi = xi
        self.n_power = n_power
        self.warmup = warmup
        self.cost = cost
        self.ot = ot
        self._ot = SolveStats()  # this epoch's solves, summarised by end_epoch

    def loss(self, models, x, y, epoch):
        model = models[0]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if epoch < self.warmup or self.beta == 0:
            return loss
        kw = dict(xi=self.xi, eps=self.eps, n_power=self.n_power, logits=logits)
        if self.cost is None:
            reg = vat_loss(model, x, "kl", **kw)
        else:
            with warnings.catch_warnings():  # summarised once per epoch by end_epoch
                warnings.simplefilter("ignore", ConvergenceWarning)
                reg, diag = wat_loss(model, x, self.cost.to(x.device), self.ot, return_diagnostics=True, **kw)
            self._ot.add(diag)
        return loss + self.beta * reg

    def end_epoch(self, models, epoch, context):
        if self.cost is None:
            return {}
        out = self._ot.pop()
        if out is None:  # warm-up: the regularizer did not run
            return dict.fromkeys(SolveStats.KEYS)
        if not out["ot_violation_max"] <= WARN_VIOLATION:  # NaN too
            warnings.warn(
                f"{self.name}, epoch {epoch + 1}: the regularizer's OT solver ({self.ot.solver}) left a marginal "
                f"violation up to "
                f"{out['ot_violation_max']:.3g} (mean {out['ot_violation_mean']:.3g}, threshold {WARN_VIOLATION:g}) with "
                f"max_iter={self.ot.max_iter}, reg={self.ot.reg}; raise max_iter (with grad='implicit' its memory does not "
                "grow with max_iter) or reg",
                ConvergenceWarning, stacklevel=2)
        return out

    def __repr__(self):
        return f"{type(self).__name__}(beta={self.beta}, eps={self.eps}, warmup={self.warmup})"


class VAT(Adversarial):
    """CE + :math:`\\beta` KL-VAT (Miyato et al. 2018), :math:`\\beta = 5` (the paper's)."""

    name = "vat"
    label = "VAT"
    default_beta = paper.BETA["vat"]


class WAT(Adversarial):
    """CE + :math:`\\beta` WAT: the regularizer of :class:`Adversarial` with a ground cost (not registered:
    its subclasses name the cost)."""

    needs = frozenset({"cost"})


class WAT01(WAT):
    """WAT with the 0-1 cost (the paper's WAT\\ :sub:`0-1`), :math:`\\beta = 10`."""

    name, label, default_beta, default_cost = "wat01", "WAT_0-1", paper.BETA["wat01"], "zero_one"


class WATC(WAT):
    """WAT with the word-vector cost (the paper's WAT\\ :sub:`C`), :math:`\\beta = 10`."""

    name, label, default_beta, default_cost = "watc", "WAT_C", paper.BETA["watc"], "word_vectors"


# Table 2's methods, in its order (watlib.paper.TABLE2_METHODS)
for _cls in (CCE, Backward, Forward, Unhinged, Bootsoft, CoTeaching, D2L, VAT, WAT01, WATC):
    register_method(_cls)
del _cls


def _num_outputs(net: nn.Module) -> int:
    last = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError("the network has no nn.Linear layer to read its number of classes from")
    return last[-1].out_features


@torch.no_grad()
def _penultimate_features(model: nn.Module, x: torch.Tensor, batch: int) -> list[torch.Tensor]:
    """Inputs of the last ``nn.Linear`` of ``model`` on ``x``, in eval mode, batch by batch."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    out: list[torch.Tensor] = []
    handle = last.register_forward_hook(lambda mod, inp, o: out.append(inp[0].flatten(1)))
    was_training = model.training
    model.eval()
    try:
        for i in range(0, len(x), batch):
            model(x[i : i + batch])
    finally:
        handle.remove()
        model.train(was_training)
    return out


def make_method(
    name: str,
    *,
    noise: float = 0.0,
    epochs: int = paper.SCHEDULES["fashion_mnist"].epochs,
    beta: float | None = None,
    eps: float = paper.EPS,
    xi: float = paper.XI,
    n_power: int = paper.N_POWER,
    warmup: int = paper.WARMUP,
    cost: torch.Tensor | None = None,
    transition: torch.Tensor | None = None,
    ot: OTSettings = OTSettings(),
    init_epoch: int = 0,
) -> Method:
    """Build the method called ``name`` with the paper's settings.

    The settings are checked and gathered in a :class:`MethodSettings`; the method's class
    (:func:`method_class`) takes the part it uses (``Method.from_settings``).

    Parameters
    ----------
    name : str
        One of :data:`METHODS`.
    noise : float
        The noise rate, the share of noisy training labels: Co-teaching's forget rate
        (:func:`watlib.train.run` passes :func:`watlib.train.expected_flip_rate`, not the rate
        :math:`p` of the asymmetric noise).
    epochs : int
        Number of training epochs (D2L's :math:`E`).
    beta : float, optional
        Weight of the adversarial regularizer; the method's ``default_beta`` (the paper's,
        :data:`watlib.paper.BETA`: 5 for VAT, 10 for WAT) by default.
    eps, xi, n_power, warmup
        Settings of the adversarial regularizers (Algorithm 1).
    cost : torch.Tensor, shape (K, K), optional
        The ground cost, required by the methods that need one (:data:`COST_METHODS`: ``wat01``
        takes the 0-1 cost, ``watc`` a word-vector cost); :func:`watlib.train.run` builds them
        from the dataset's class names.
    transition : torch.Tensor, shape (K, K), optional
        :math:`\\hat T`, required by :data:`TRANSITION_METHODS` (``forward``, ``backward``;
        :func:`watlib.train.estimate_transition`).
    ot : watlib.ot_settings.OTSettings
        WAT's :math:`\\lambda` and the solver settings of its OT loss (the library's by
        default; :func:`watlib.train.run` passes the configuration's, :attr:`watlib.train.TrainConfig.ot`).
    init_epoch : int
        D2L's wait before its turning-point test (the class ``D2L``; :func:`watlib.train.run`
        passes the data set's ``d2l_init_epoch``, :class:`watlib.data.registry.DatasetInfo`).

    Returns
    -------
    Method

    Examples
    --------
    >>> make_method("vat")
    VAT(beta=5.0, eps=0.005, warmup=15)
    >>> make_method("forward")
    Traceback (most recent call last):
    ...
    ValueError: method 'forward' needs the estimated transition matrix: pass transition=(K, K) tensor
    """
    cls = method_class(name)
    check_int("epochs", epochs, ge=1)
    if beta is not None:
        beta = check_real("beta", beta, ge=0)
    eps = check_real("eps", eps, ge=0)
    xi = check_real("xi", xi, gt=0)
    n_power = check_int("n_power", n_power, ge=1)
    warmup = check_int("warmup", warmup, ge=0)
    init_epoch = check_int("init_epoch", init_epoch, ge=0)
    check_ot_settings(ot)
    if "transition" in cls.needs and transition is None:
        raise ValueError(f"method {name!r} needs the estimated transition matrix: pass transition=(K, K) tensor")
    if "cost" in cls.needs and cost is None:
        raise ValueError(f"method {name!r} needs a ground cost: pass cost=(K, K) tensor")
    settings = MethodSettings(noise=noise, epochs=epochs, beta=beta, eps=eps, xi=xi, n_power=n_power, warmup=warmup,
                              cost=cost if "cost" in cls.needs else None,
                              transition=transition if "transition" in cls.needs else None, ot=ot,
                              init_epoch=init_epoch)
    return cls.from_settings(settings)
