r"""Table 2's runs: configuration, presets, data and evaluation of a classification run.

One entry point, :func:`run`, serves the chapters and the command line
(``python -m watlib train ...``). A run is identified by its full configuration
(:class:`TrainConfig`); :mod:`watlib.engine` carries it out: the cached JSON record under
``results/`` (loaded instead of retraining), the per-run lock, the optimiser and schedule,
the epoch loop, checkpoints and resume, provenance and the atomic record. This module says
what the run is:

1. the data: the dataset
   (:func:`watlib.data.load_dataset <watlib.data.classification.load_dataset>`), a class-balanced
   training subset when the preset asks for one, and the paper's asymmetric noise on the training
   labels (:func:`watlib.noise.transition_matrix`, :func:`watlib.noise.corrupt_labels`); test labels
   stay clean;
2. the networks and the method: :class:`watlib.models.cnn.CNN9` and
   :func:`watlib.methods.make_method`, with the ground cost of WAT and, for Forward and
   Backward, the transition matrix :func:`estimate_transition` takes from the CCE run;
3. the evaluation: the clean test accuracy after every epoch; the paper's metric is the mean
   (and standard deviation) of the test accuracy over the last 10 epochs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from . import paper
from ._checks import check_choice, check_int, check_milestones, check_real, check_seed, check_sequence, describe
from .costs import GROUND_COSTS, CostInputs, class_names, mean_off_diagonal, scale_to_mean, word_vector_cost
from .data.registry import CLASSIFICATION_DATASETS, dataset_info
from .engine import Setup, checkpoint_path, config_overrides, read_checkpoint, resolve_preset, run_cached
from .methods import (COST_METHODS, METHODS, REFERENCE_METHOD, TRANSITION_METHODS, VALIDATION_METHODS, MethodSettings,
                      estimate_transition_matrix, make_method, method_class)
from .ot_settings import OT_FIELDS, OTSettings, ot_fields
from .records import config_key, find_results_dir
from .regularizer_fields import RegularizerFields
from .validation import BestModel, validation_size, validation_split

__all__ = ["DATASETS", "PRESETS", "COSTS", "MATCH_WATC", "WAT_METHODS", "NEED_FIELDS", "method_fields", "methods_with_field",
           "TrainConfig", "reference_config",
           "make_config", "grid_configs", "run", "accuracy_summary", "estimate_transition", "transition_error",
           "expected_flip_rate", "RECORD_FIELDS", "checkpoint_models"]

#: What every complete record of :func:`run` holds (dotted paths, :func:`watlib.records.check_record`):
#: a cached file without one is a CorruptFileError naming it, not a KeyError in whoever reads it.
RECORD_FIELDS = ("config", "key", "history.epoch", "history.test_acc", "metric.last10_mean")

#: The classification data sets of Table 2.
DATASETS = CLASSIFICATION_DATASETS  # the registry's (watlib.data.registry)

#: The methods whose regularizer solves OT problems with a ground cost (the only ones ``cost``,
#: ``cost_scale`` and the OT solver's settings apply to): :data:`watlib.methods.COST_METHODS`.
WAT_METHODS = COST_METHODS

#: The fields of :class:`TrainConfig` that each need of a method (``Method.needs``) brings: the
#: ground cost and its solver's settings; ``val_size`` for the reference run, which selects the
#: model of its :math:`\hat T` on its noisy validation split, and for Forward and Backward,
#: which name the reference run they take it from.
NEED_FIELDS = {"cost": ("cost", "cost_scale", *OT_FIELDS), "transition": ("val_size",), "validation": ("val_size",)}


def method_fields(method: str) -> tuple:
    """The method-specific fields of :class:`TrainConfig` that apply to ``method``: those of its
    needs (:data:`NEED_FIELDS`) and its own (``Method.fields``); any other must stay None.

    Examples
    --------
    >>> method_fields("watc")[:2], method_fields("d2l"), method_fields("vat")
    (('cost', 'cost_scale'), ('init_epoch',), ())
    """
    cls = method_class(method)
    fields = [f for need in sorted(cls.needs) for f in NEED_FIELDS[need]] + list(cls.fields)
    return tuple(dict.fromkeys(fields))


def methods_with_field(field: str) -> tuple:
    """The registered methods a method-specific field applies to (:func:`method_fields`).

    Examples
    --------
    >>> methods_with_field("val_size")
    ('cce', 'backward', 'forward')
    """
    return tuple(m for m in METHODS if field in method_fields(m))


def _specific_fields() -> tuple:
    """Every field that applies to some methods only."""
    return tuple(dict.fromkeys(f for m in METHODS for f in method_fields(m)))

#: The ground costs a WAT run can be given (``TrainConfig.cost``), by name: the 0-1 cost, the
#: paper's word-vector exp(-m) cost, the word-vector distance itself, the cost of the class
#: centroids of the CCE run's features (no clean label) and the oracle cost of the true T, then
#: any registered later (:data:`watlib.costs.GROUND_COSTS`, live).
COSTS = GROUND_COSTS.names()

#: ``cost_scale`` value that scales a cost to the mean off-diagonal value of WAT_C's cost.
MATCH_WATC = "match_watc"

#: What each preset sets; ``make_config`` fills in the data-set-dependent parts of ``paper``.
PRESETS = {
    # The paper's experiment (Section 5.1): full data, CNN9 at width 1, beta off for 15 epochs.
    "paper": dict(width=1.0, train_size=None, test_size=None, batch_size=paper.BATCH_SIZE, warmup=paper.WARMUP),
    # Two CPU cores, under 25 minutes a run on Fashion-MNIST, and still in the regime where
    # cross-entropy memorises the flipped labels (facts.md: 4k images at width 0.25 do, 10-20k
    # at width 0.125 do not).
    "cpu": dict(width=0.25, train_size=4000, test_size=None, batch_size=paper.BATCH_SIZE, epochs=50,
                milestones=(17, 33), warmup=12),
    # Seconds, for CI.
    "smoke": dict(width=0.0625, train_size=256, test_size=256, batch_size=64, epochs=2,
                  milestones=(1,), warmup=1),
}


@dataclass(frozen=True)
class TrainConfig(RegularizerFields):
    """Everything that determines the outcome of a run (and so its cache key).

    Every field is checked when the configuration is built, before any data loads.

    Attributes
    ----------
    dataset : {"fashion_mnist", "cifar10", "cifar100"}
    noise : float
        Asymmetric noise rate :math:`p` in [0, 1].
    method : str
        One of :data:`watlib.methods.METHODS`.
    seed : int
        Seeds the label noise, the subset, the initialisation and the minibatch order.
    noise_variant : str or None
        Variant of the noise mapping (:func:`watlib.noise.transition_matrix`).
    epochs, milestones, batch_size, lr
        Adam schedule: the learning rate is divided by 10 at each milestone epoch.
    width : float
        Channel multiplier of CNN9 (1 = the paper's Table 1).
    train_size, test_size : int or None
        Class-balanced subsets of the training / test sets (None: all of it).
    beta, eps, xi, n_power, reg, warmup, vectors
        Adversarial regularizers (:class:`watlib.regularizer_fields.RegularizerFields`, shared
        with the segmentation runs; beta None: the method's, :data:`watlib.paper.BETA`).
    max_iter, tol, grad
        Solver settings of WAT's OT loss (:func:`watlib.ot.ot_loss`); None (the default):
        those of :data:`watlib.ot_settings.TRAIN_OT` (Newton's method run to convergence,
        implicit gradients); :attr:`ot` gathers them with ``reg`` and ``ot_solver``. Only for the
        methods of :data:`WAT_METHODS`: the others solve no OT problem and keep None, so that
        their runs do not depend on the solver's settings.
    ot_solver : {"sinkhorn", "newton", "auto"} or None
        The solver of WAT's OT loss (``solver`` of :func:`watlib.ot.ot_loss`); ``max_iter`` counts
        its iterations (Newton: steps); None: ``TRAIN_OT.solver``. Only for :data:`WAT_METHODS`.
        Another solver given without ``max_iter`` gets its own cap
        (:func:`watlib.ot_settings.ot_fields`).
    vectors : str
        Word vectors of WAT_C's ground cost (and of the ``word_distance`` cost and the
        ``match_watc`` scale).
    cost : str or None
        WAT's ground cost, one of :data:`COSTS`; None (the default): the method's own, the
        0-1 cost for ``wat01`` and the word-vector :math:`e^{-m}` cost for ``watc``. Only
        for the methods of :data:`WAT_METHODS`.
    cost_scale : float, "match_watc" or None
        None (the default): the cost as built; a number > 0 multiplies it; ``"match_watc"``
        scales it to the mean off-diagonal value of the data set's word-vector cost
        (:func:`watlib.costs.scale_to_mean`), so that only its shape differs from WAT_C's.
        Only for the methods of :data:`WAT_METHODS`.
    val_size : int or None
        Size of the noisy validation split on which the CCE run selects the model of its
        :math:`\\hat T` (Patrini et al.'s protocol, :mod:`watlib.validation`): None (the
        default) the share :data:`watlib.validation.VAL_SPLIT` of training plus validation
        images, Patrini et al.'s 10% (444 beside the ``cpu`` preset's 4,000, drawn from the
        unused images; 10% of the full set held out at the ``paper`` preset, where the CCE
        run then trains on the other 90%, fewer images than the other methods, as Keras'
        ``validation_split`` does in Patrini et al.'s code); 0: no split, :math:`\\hat T` from the
        final model (the records of schema < 4). Only for the methods ``methods_with_field("val_size")``.
    init_epoch : int or None
        D2L's wait before its turning-point test (the class ``watlib.methods.D2L``); None (the
        default): the data set's ``d2l_init_epoch`` (:class:`watlib.data.registry.DatasetInfo`, Ma et al.'s). Only
        for ``d2l``.
    preset : str
        The preset this configuration started from (recorded, part of the key).

    Examples
    --------
    >>> cfg = TrainConfig(dataset="cifar10", noise=0.2, method="watc", seed=1)
    >>> cfg.name() == f"cifar10_watc_noise0.2_seed1_{cfg.key()}"
    True
    >>> TrainConfig(noise=1.5)
    Traceback (most recent call last):
    ...
    ValueError: noise must be a finite number in [0, 1], got 1.5
    >>> TrainConfig(method="watc", reg=0)
    Traceback (most recent call last):
    ...
    ValueError: reg must be a finite number > 0, got 0
    >>> TrainConfig(method="vat", cost="oracle")
    Traceback (most recent call last):
    ...
    ValueError: cost applies to the methods ('wat01', 'watc') only, got cost='oracle' for method 'vat'
    """

    #: Version of the fields; bump it (and add a step to ``watlib.audit.migrate_records``)
    #: when a field is added or changes meaning.
    SCHEMA: ClassVar[int] = 6

    dataset: str = "fashion_mnist"
    noise: float = 0.4
    method: str = "cce"
    seed: int = 0
    noise_variant: str | None = None
    epochs: int = paper.SCHEDULES["fashion_mnist"].epochs
    milestones: tuple = paper.SCHEDULES["fashion_mnist"].milestones
    batch_size: int = paper.BATCH_SIZE
    lr: float = paper.LR
    width: float = 1.0
    train_size: int | None = None
    test_size: int | None = None
    cost: str | None = None
    cost_scale: float | str | None = None
    val_size: int | None = None
    init_epoch: int | None = None
    preset: str = "paper"

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("method", self.method, METHODS)
        check_real("noise", self.noise, ge=0, le=1)
        check_seed("seed", self.seed)
        info = dataset_info(self.dataset)
        if self.noise_variant is not None:
            check_choice("noise_variant", self.noise_variant, tuple(info.noise))
        for name in ("epochs", "batch_size"):
            check_int(name, getattr(self, name), ge=1)
        for name in ("train_size", "test_size"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), ge=1)
        check_real("lr", self.lr, gt=0)
        check_real("width", self.width, gt=0)
        self.check_regularizer()
        if self.cost is not None:
            check_choice("cost", self.cost, COSTS)
        if self.cost_scale is not None and self.cost_scale != MATCH_WATC:
            if isinstance(self.cost_scale, str):
                raise ValueError(f"cost_scale must be None, a number > 0 or {MATCH_WATC!r}, got {self.cost_scale!r}")
            object.__setattr__(self, "cost_scale", check_real("cost_scale", self.cost_scale, gt=0))
        for name in ("val_size", "init_epoch"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), ge=0)
        if info.sizes is not None:  # the subsets against the data set's known splits, before any data loads
            for name, n in zip(("train_size", "test_size"), info.sizes):
                if getattr(self, name) is not None and getattr(self, name) > n:
                    raise ValueError(f"{name} must be <= {n} (the {'training' if name == 'train_size' else 'test'} "
                                     f"images of {self.dataset}), got {getattr(self, name)}")
        own = method_fields(self.method)
        for name in _specific_fields():
            if getattr(self, name) is not None and name not in own:
                raise ValueError(f"{name} applies to the methods {methods_with_field(name)} only, got "
                                 f"{name}={getattr(self, name)!r} for method {self.method!r}")
        if "val_size" in own and info.sizes is not None:  # the reference run's split fits beside the subset
            validation_size(self.val_size, self.train_size, info.sizes[0])
        if self.method in WAT_METHODS:  # training's settings where none are given, checked together
            self.resolve_ot()
        object.__setattr__(self, "milestones", check_milestones(self.milestones))
        for name in ("noise", "lr", "width"):
            object.__setattr__(self, name, float(getattr(self, name)))
        first = self.first_active_epoch
        if first >= self.epochs:
            reason = method_class(self.method).first_active_reason(self._method_settings())
            raise ValueError(
                f"method {self.method!r} trains plain cross-entropy for its first {first} epochs "
                f"({reason}), so with epochs={self.epochs} its own loss would never be "
                f"used: the run would be plain CCE recorded as {self.method!r}; need epochs > {first}")

    def _method_settings(self) -> MethodSettings:
        return MethodSettings(epochs=self.epochs, warmup=self.warmup, init_epoch=_init_epoch(self))

    @property
    def first_active_epoch(self) -> int:
        """The first epoch (0-based) whose loss is the method's own, not plain cross-entropy:
        0 for most methods, the warm-up for VAT and WAT, D2L's wait and window after it
        (:meth:`watlib.methods.Method.first_active_epoch`). A rerun of ``first_active_epoch + 1``
        epochs is the shortest that checks the method's loss.

        >>> TrainConfig(method="cce").first_active_epoch, TrainConfig(method="watc", warmup=12).first_active_epoch
        (0, 12)
        """
        return method_class(self.method).first_active_epoch(self._method_settings())

    @property
    def ot(self) -> OTSettings | None:
        """WAT's :math:`\\lambda` and solver settings, as the regularizer receives them (None for
        the methods that solve no OT problem)."""
        return OTSettings.of(self) if self.method in WAT_METHODS else None

    def for_method(self, method: str) -> TrainConfig:
        """This run's configuration for another method: the method-specific fields that do not
        apply to ``method`` (:func:`method_fields`) are reset to None (the others carry over).

        Examples
        --------
        >>> cce = TrainConfig(method="wat01", cost="features").for_method("cce")
        >>> cce.method, cce.cost, cce.ot_solver
        ('cce', None, None)
        """
        own = method_fields(method)
        return dataclasses.replace(self, method=method, **{name: None for name in _specific_fields() if name not in own})

    def key(self) -> str:
        """A short hash of the configuration and its schema: the cache key of the run."""
        return config_key(self)

    def name(self) -> str:
        """A readable file stem: dataset, method, noise, seed and the key."""
        return f"{self.dataset}_{self.method}_noise{self.noise:g}_seed{self.seed}_{self.key()}"


def make_config(dataset: str = "fashion_mnist", noise: float = 0.4, method: str = "cce",
                preset: str = "auto", seed: int = 0, ot: str = "train", **overrides) -> TrainConfig:
    """The configuration of a run from a preset, with any field overridden.

    Parameters
    ----------
    dataset, noise, method, seed
        See :class:`TrainConfig`.
    preset : {"auto", "paper", "cpu", "smoke"}
        ``auto`` picks ``paper`` when CUDA is available and ``cpu`` otherwise.
    ot : {"train", "study", "released"}
        The settings of WAT's OT loss (:data:`watlib.ot_settings.OT_PRESETS`): training's
        default (Newton), the first study's (converged Sinkhorn, as the committed records) or
        the released code's; ``ot_solver``, ``max_iter``, ``tol`` and ``grad`` change them
        (:func:`watlib.ot_settings.ot_fields`).
    **overrides
        Any field of :class:`TrainConfig`; None values are ignored.

    Returns
    -------
    TrainConfig

    Examples
    --------
    >>> cfg = make_config("fashion_mnist", 0.4, "watc", preset="cpu")
    >>> cfg.width, cfg.train_size, cfg.epochs
    (0.25, 4000, 50)
    >>> make_config("cifar10", preset="paper").milestones
    (40, 80)
    >>> make_config(method="wat01", ot="released").ot
    OTSettings(reg=0.05, solver='sinkhorn', max_iter=20, tol=0.0, grad='unrolled')
    """
    preset = resolve_preset(preset, PRESETS)
    check_choice("dataset", dataset, DATASETS)
    epochs, milestones = dataset_info(dataset).schedule
    values = dict(epochs=epochs, milestones=milestones)
    values.update(PRESETS[preset])
    solver = ot_fields(ot, **{k: overrides.pop(k, None) for k in OT_FIELDS})  # checked for every method
    if method in WAT_METHODS:  # the others solve no OT problem: their fields stay None
        values.update(solver)
    values.update(config_overrides(TrainConfig, overrides))
    return TrainConfig(dataset=dataset, noise=noise, method=method, seed=seed, preset=preset, **values)


# ------------------------------------------------------------------------------ data
def _prepare_data(config: TrainConfig, data_root, checksums):
    """Training inputs, clean and noisy training labels, test inputs and labels, T, and for CCE
    the noisy validation split (inputs, noisy labels, indices into the training split; else None)."""
    from .data import load_dataset, subset
    from .noise import corrupt_labels, transition_matrix

    train = load_dataset(config.dataset, root=data_root, train=True, checksums=checksums)
    test = load_dataset(config.dataset, root=data_root, train=False, checksums=checksums)
    n_val = validation_size(config.val_size, config.train_size, len(train)) if config.method in VALIDATION_METHODS else 0
    val = None
    if n_val:
        train, val = validation_split(train, config.train_size, n_val, config.seed)
    elif config.train_size is not None:
        train = subset(train, config.train_size, seed=config.seed)
    if config.test_size is not None:
        test = subset(test, config.test_size, seed=config.seed)
    T = transition_matrix(config.dataset, config.noise, variant=config.noise_variant)
    y_noisy = corrupt_labels(train.y, T, seed=config.seed)
    if val is not None:  # the same noise model and seed as the training labels
        val = (val.x, corrupt_labels(val.y, T, seed=config.seed), val.indices, train.indices)
    return train.x, train.y, y_noisy, test.x, test.y, T, val


@dataclass
class RunContext:
    """What a method may ask for at the end of an epoch (see :meth:`watlib.methods.Method.end_epoch`).

    Attributes
    ----------
    config : TrainConfig
    x_train : torch.Tensor, shape (N, C, H, W)
        The training inputs (on the CPU).
    device : torch.device

    Examples
    --------
    >>> ctx = RunContext(TrainConfig(), torch.arange(10.0).view(10, 1), torch.device("cpu"))
    >>> ctx.fixed_train_inputs(3).shape
    torch.Size([3, 1])
    """

    config: TrainConfig
    x_train: torch.Tensor
    device: torch.device

    def fixed_train_inputs(self, n: int) -> torch.Tensor:
        """The same ``n`` training inputs at every call (D2L's LID sample), on the run's device."""
        g = torch.Generator().manual_seed(self.config.seed + 12345)
        idx = torch.randperm(len(self.x_train), generator=g)[:n]
        return self.x_train[idx].to(self.device)


def reference_config(config: TrainConfig) -> TrainConfig | None:
    """The CCE run that ``config`` needs, or None: that of the same data, noise draw, network and schedule.

    Forward and Backward train on the transition matrix it estimates
    (:func:`estimate_transition`); a WAT run with ``cost="features"`` on the cost of the class
    centroids of its final model's features (``class_centroids`` in its record).

    Parameters
    ----------
    config : TrainConfig

    Returns
    -------
    TrainConfig or None

    Examples
    --------
    >>> reference_config(TrainConfig(method="wat01", cost="features", cost_scale="match_watc")).method
    'cce'
    >>> reference_config(TrainConfig(method="watc")) is None
    True
    """
    if config.method in TRANSITION_METHODS or (config.cost is not None and GROUND_COSTS[config.cost].needs_centroids):
        return config.for_method(REFERENCE_METHOD)  # val_size carries over
    return None


def _init_epoch(config: TrainConfig) -> int:
    """D2L's wait: the configuration's, else the data set's (``DatasetInfo.d2l_init_epoch``)."""
    return dataset_info(config.dataset).d2l_init_epoch if config.init_epoch is None else config.init_epoch


def _ground_cost(config: TrainConfig, T, reference=None):
    """WAT's (K, K) ground cost of ``config`` (None for the other methods).

    ``T`` is the true transition matrix of the run (the oracle cost's); ``reference()``
    returns the record of :func:`reference_config` (the features cost's centroids).
    """
    if config.method not in WAT_METHODS:
        return None
    name = config.cost or method_class(config.method).default_cost

    def centroids():
        record = reference()
        if "class_centroids" not in record:
            raise ValueError(
                f"cost={name!r} needs the class centroids of the CCE run {reference_config(config).name()}, "
                "but its record has none (it was made before watlib recorded them): retrain it with "
                "force=True (python -m watlib train --method cce ... --force)")
        absent = [k for k, row in enumerate(record["class_centroids"]) if row is None]
        if absent:
            raise ValueError(f"cost={name!r} needs a centroid of every class, but the noisy labels of the CCE run "
                             f"{reference_config(config).name()} hold no sample of the classes {absent}")
        return record["class_centroids"]

    C = GROUND_COSTS[name].build(CostInputs(tuple(class_names(config.dataset)), config.vectors, T, centroids))
    if config.cost_scale == MATCH_WATC:
        watc = word_vector_cost(class_names(config.dataset), vectors=config.vectors)
        C = scale_to_mean(C, mean_off_diagonal(watc))
    elif config.cost_scale is not None:
        C = C * config.cost_scale
    return C


#: Images per forward pass when a trained model only predicts (the test accuracy of every
#: epoch, T's estimate, the class centroids), by device type. On one CPU thread the cpu
#: preset's network predicts the 10,000 test images in 10.0 s at 64 a pass and 17.0 s at
#: 1,024 (the activations of a large batch leave the cache; benchmarks/bench_predict.py),
#: with identical outputs; a GPU wants large batches.
PREDICT_BATCH = {"cpu": 64, "cuda": 1024}


def predict_batch_size(device) -> int:
    """Images per forward pass of prediction on ``device`` (:data:`PREDICT_BATCH`, 1,024 elsewhere).

    >>> predict_batch_size(torch.device("cpu")), predict_batch_size("cuda:1")
    (64, 1024)
    """
    return PREDICT_BATCH.get(torch.device(device).type, 1024)


@torch.no_grad()
def _class_centroids(model, x, labels, K, device, batch=None):
    """K rows: the mean penultimate features (``model.embed``) of the inputs of each label, as lists
    (None for a class no input has: JSON has no NaN)."""
    batch = batch or predict_batch_size(device)
    was = model.training
    model.eval()
    try:
        F = torch.cat([model.embed(x[i : i + batch].to(device)).double().cpu() for i in range(0, len(x), batch)])
    finally:
        model.train(was)
    counts = torch.bincount(labels, minlength=K).double()
    means = torch.zeros(K, F.shape[1], dtype=torch.float64).index_add_(0, labels, F) / counts[:, None]
    return [row.tolist() if c > 0 else None for row, c in zip(means, counts)]


def _network(config: TrainConfig) -> torch.nn.Module:
    """One network of a run (:func:`run`, :func:`checkpoint_models`): CNN9 at the run's width."""
    from .models.cnn import CNN9

    info = dataset_info(config.dataset)  # the loaders check their inputs' channels against it
    return CNN9(info.in_channels, info.num_classes, width=config.width)


@torch.no_grad()
def _predict(model, x, device, batch=None):
    batch = batch or predict_batch_size(device)
    was = model.training
    model.eval()
    try:
        out = [model(x[i : i + batch].to(device)).float().softmax(dim=1).cpu() for i in range(0, len(x), batch)]
    finally:
        model.train(was)
    return torch.cat(out)


def accuracy_summary(test_acc) -> dict:
    """A run's ``metric``: what its per-epoch test accuracies summarise to.

    Parameters
    ----------
    test_acc : sequence of float
        The test accuracy after each epoch, at least one.

    Returns
    -------
    dict
        ``last10_mean`` and ``last10_std`` (over the last 10 epochs: the paper's number and
        its spread within the run), ``final``, ``peak`` and ``peak_epoch`` (1-based).

    Examples
    --------
    >>> accuracy_summary([50.0, 80.0, 70.0])
    {'last10_mean': 66.66666666666667, 'last10_std': 12.472191289246473, 'final': 70.0, 'peak': 80.0, 'peak_epoch': 2}
    """
    acc = np.asarray(test_acc, dtype=float)
    last = acc[-10:]
    return {"last10_mean": float(last.mean()), "last10_std": float(last.std()), "final": float(acc[-1]),
            "peak": float(acc.max()), "peak_epoch": int(acc.argmax()) + 1}


def expected_flip_rate(T, labels) -> float:
    r"""The share of training labels the noise model flips: Co-teaching's forget rate.

    .. math::
        \varepsilon = \sum_i \pi_i \, (1 - T_{ii}),

    with :math:`\pi_i` the share of class :math:`i` among the (clean) training labels. Han et
    al. set the forget rate to this noise rate, the fraction of noisy labels. It is not the
    rate :math:`p` of the asymmetric noise: on Fashion-MNIST only five of the ten classes flip,
    so :math:`p = 0.4` corrupts 20% of a balanced training set.

    Parameters
    ----------
    T : array_like, shape (K, K)
        Row-stochastic transition matrix, ``T[i, j] = P(noisy = j | true = i)``.
    labels : array_like of int, shape (N,)
        Clean training labels in [0, K).

    Returns
    -------
    float

    References
    ----------
    .. [1] Han, B. et al. (2018). Co-teaching: Robust Training of Deep Neural Networks with
       Extremely Noisy Labels. NeurIPS (Section 3: "tau = epsilon, the noise rate").

    Examples
    --------
    >>> import numpy as np
    >>> from watlib.noise import transition_matrix
    >>> round(expected_flip_rate(transition_matrix("fashion_mnist", 0.4), np.arange(10)), 6)
    0.2
    """
    T = np.asarray(T, dtype=float)
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0:
        raise ValueError("labels must be a non-empty array of classes, got an empty one")
    counts = np.bincount(labels, minlength=T.shape[0])
    if counts.shape[0] != T.shape[0]:
        raise ValueError(f"labels must be a non-empty array of classes in [0, {T.shape[0]}), got {counts.shape[0]} classes")
    return float((counts / counts.sum()) @ (1.0 - np.diag(T)))


def transition_error(T_hat, T) -> dict:
    r"""How far an estimated transition matrix is from the true one.

    .. math::
        \max_{ij} |\hat T_{ij} - T_{ij}| \quad\text{and}\quad \|\hat T - T\|_F

    Parameters
    ----------
    T_hat, T : array_like, shape (K, K)

    Returns
    -------
    dict
        ``max_abs`` and ``frobenius``, floats.

    Examples
    --------
    >>> transition_error(np.eye(2), [[0.5, 0.5], [0.0, 1.0]])
    {'max_abs': 0.5, 'frobenius': 0.7071067811865476}
    """
    D = np.asarray(T_hat, dtype=float) - np.asarray(T, dtype=float)
    return {"max_abs": float(np.abs(D).max()), "frobenius": float(np.linalg.norm(D))}


def estimate_transition(config: TrainConfig, results_dir=None, **run_kwargs) -> torch.Tensor:
    r""":math:`\hat T` estimated from the CCE run that differs from ``config`` only by its method.

    The Forward and Backward corrections (Patrini et al. 2017) train on a transition matrix
    estimated from a network trained with plain cross-entropy on the same noisy labels: the
    CCE run of the same data, noise draw, network, schedule and ``val_size``. As in Patrini
    et al.'s code, that network is the CCE run's model at the epoch of its lowest
    cross-entropy on a noisy validation split (:mod:`watlib.validation`; with
    ``val_size=0``, its final model); its record holds :math:`\hat T`
    (:func:`watlib.methods.estimate_transition_matrix` on that model's predictions for all
    the training inputs) and the epoch (``transition_estimate_epoch``). The record is loaded
    from the cache, or trained first.

    Parameters
    ----------
    config : TrainConfig
        The run that needs :math:`\hat T` (its method does not matter).
    results_dir : path, optional
        Where the CCE run is cached (:func:`watlib.records.find_results_dir`).
    **run_kwargs
        Passed to :func:`run` for the CCE run (``device``, ``data_root``, ``checksums``,
        ``progress``).

    Returns
    -------
    torch.Tensor, shape (K, K), float64
        Row-stochastic, :math:`\hat T_{ij} \approx P(\tilde y = j \mid y = i)`.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     cfg = make_config("cifar10", 0.4, "forward", preset="smoke", train_size=20, test_size=20, batch_size=10)
    ...     T = estimate_transition(cfg, results_dir=tmp, data_root=tmp, checksums=sums, progress=False)
    >>> T.shape, bool(torch.allclose(T.sum(1), torch.ones(10, dtype=T.dtype)))
    (torch.Size([10, 10]), True)
    """
    reference = run(config.for_method(REFERENCE_METHOD), results_dir=results_dir, **run_kwargs)
    return torch.tensor(reference["transition_estimate"], dtype=torch.float64)


def run(config: TrainConfig, results_dir=None, checkpoint_dir=None, device=None, data_root=None,
        checksums=None, progress: bool = True, force: bool = False, stop_after: int | None = None,
        reference_dir=None) -> dict:
    """Train one configuration, or load its record when it has already been trained.

    The run's life cycle (cache, lock, epochs, checkpoints, provenance, atomic record) is
    :func:`watlib.engine.run_cached`'s.

    Parameters
    ----------
    config : TrainConfig
        The run (see :func:`make_config`).
    results_dir : path, optional
        Where records are cached (:func:`watlib.records.find_results_dir` by default). The
        record is ``<results_dir>/<dataset>/<config.name()>.json``.
    checkpoint_dir : path, optional
        Where the per-epoch checkpoint is kept (``<results_dir>/checkpoints`` by default; not
        meant to be committed). It is deleted when the run completes.
    device : str or torch.device, optional
        CUDA when available by default. Not part of the cache key; recorded.
    data_root : path, optional
        Where the dataset files are (see
        :func:`watlib.data.load_dataset <watlib.data.classification.load_dataset>`).
    checksums : dict, optional
        MD5 table of the dataset files (default: the real files'); the table returned by
        :func:`watlib.testing.write_fake_cifar` lets its generated test files through.
    progress : bool
        A progress bar per epoch and a line per epoch.
    force : bool
        Retrain even when a record exists.
    stop_after : int, optional
        Stop (as if interrupted) after this many epochs in this call; for tests of resume.
    reference_dir : path, optional
        Where Forward and Backward, and WAT with ``cost="features"``, find (or train) their
        CCE run (:func:`reference_config`); ``results_dir`` by default.

    Returns
    -------
    dict
        The run record (:func:`watlib.engine.run_cached`) with, per epoch in ``history``,
        ``test_acc`` and any values the method reports (D2L's LID; for WAT the mean and
        largest marginal violation and the iterations of the regularizer's Sinkhorn);
        ``metric`` (last-10-epoch mean and std, final, peak and its epoch); ``noise`` (the
        realised flip rate and ``transition``, the true T); ``n_train``, ``n_test``; for
        ``cce``, ``val_loss`` per epoch in ``history`` and ``n_val`` (the noisy validation
        split, unless ``val_size=0``), ``transition_estimate`` (T estimated from the model
        of the lowest ``val_loss``, or the final model without a split; used by Forward and
        Backward), ``transition_estimate_epoch`` (that model's epoch) and
        ``transition_error`` (``max_abs`` and ``frobenius`` of :math:`\\hat T - T`), and
        ``class_centroids`` (K x D: the mean penultimate features of the
        final model over the training inputs of each noisy label, used by the ``features``
        cost); for Forward and Backward, ``transition_used`` and its ``transition_error``; for ``wat01`` and ``watc``,
        ``ground_cost`` (the K x K cost the regularizer used, see ``TrainConfig.cost``). ``complete`` is False for a
        run stopped by ``stop_after``.

    Examples
    --------
    A two-epoch run on generated CIFAR-10 files (random pixels: the accuracy means nothing):

    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     cfg = make_config("cifar10", 0.4, "cce", preset="smoke", train_size=20, test_size=20, batch_size=10)
    ...     rec = run(cfg, results_dir=tmp, data_root=tmp, checksums=sums, progress=False)
    >>> rec["complete"], rec["history"]["epoch"], sorted(rec["metric"])
    (True, [1, 2], ['final', 'last10_mean', 'last10_std', 'peak', 'peak_epoch'])
    """
    if not isinstance(config, TrainConfig):  # a dict of fields, say: before any attribute is read
        raise TypeError(f"config must be a TrainConfig (watlib.train.make_config), got {describe(config)}")
    results_dir = Path(results_dir) if results_dir is not None else find_results_dir()

    def setup(device):
        T_hat = None
        if config.method in TRANSITION_METHODS:
            T_hat = estimate_transition(config, results_dir=reference_dir or results_dir, device=device,
                                        data_root=data_root, checksums=checksums, progress=progress)
        x_train, y_clean, y_noisy, x_test, y_test, T, val = _prepare_data(config, data_root, checksums)
        K = int(T.shape[0])
        cost = _ground_cost(config, T, lambda: run(reference_config(config), device=device, data_root=data_root,
                                                   results_dir=reference_dir or results_dir, checksums=checksums,
                                                   progress=progress))
        method = make_method(config.method, noise=expected_flip_rate(T, y_clean), epochs=config.epochs,
                             beta=config.beta, eps=config.eps, xi=config.xi, n_power=config.n_power,
                             warmup=config.warmup, cost=cost, transition=T_hat, ot=config.ot or OTSettings(),  # unused without OT
                             init_epoch=_init_epoch(config))
        torch.manual_seed(config.seed)
        models = [m.to(device) for m in method.build(lambda: _network(config))]
        n, bs = len(x_train), config.batch_size
        best = BestModel(models[0], val[0], val[1], device) if val is not None else None

        def batches(epoch, generator):
            perm = torch.randperm(n, generator=generator)
            for i in range(0, n, bs):
                idx = perm[i : i + bs]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                yield x_train[idx].to(device, non_blocking=True), y_noisy[idx].to(device, non_blocking=True)

        def evaluate(epoch):
            probs = _predict(method.predictor(models), x_test, device)
            scores = {"test_acc": float((probs.argmax(dim=1) == y_test).double().mean() * 100)}
            if best is not None:
                scores["val_loss"] = best.update(epoch)
            return scores

        def finish(history, complete):
            fields = {"metric": accuracy_summary(history["test_acc"]) if history["test_acc"] else None}
            if complete and config.method in VALIDATION_METHODS:
                chosen = best.best_model() if best is not None else models[0]
                T_est = estimate_transition_matrix(_predict(chosen, x_train, device))
                fields["transition_estimate"] = T_est.tolist()
                fields["transition_estimate_epoch"] = best.epoch if best is not None else config.epochs
                fields["transition_error"] = transition_error(T_est, T)
                fields["class_centroids"] = _class_centroids(models[0], x_train, y_noisy, K, device)
            if T_hat is not None:
                fields["transition_used"] = T_hat.tolist()
                fields["transition_error"] = transition_error(T_hat, T)
            return fields, None

        fields = {"noise": {"transition": T.tolist(), "realised_rate": float((y_noisy != y_clean).double().mean())},
                  "n_train": n, "n_test": len(x_test)}
        if cost is not None:
            fields["ground_cost"] = cost.tolist()
        if val is not None:
            fields["n_val"] = len(val[0])
        return Setup(models=models, method=method, batches=batches, n_batches=-(-n // bs), evaluate=evaluate,
                     finish=finish, fields=fields, context=RunContext(config, x_train, device), state=best)

    return run_cached(config, config.dataset, setup, kind="classification", results_dir=results_dir,
                      checkpoint_dir=checkpoint_dir, device=device, progress=progress, force=force,
                      stop_after=stop_after, fields=RECORD_FIELDS)


def checkpoint_models(config: TrainConfig, checkpoint_dir, device=None) -> tuple[list[torch.nn.Module], int]:
    """The networks of a run as its checkpoint holds them, and the epochs they were trained.

    A run stopped by ``stop_after`` (or interrupted) leaves its checkpoint in ``checkpoint_dir``;
    this rebuilds its networks (CNN9 at the run's width) in training mode with their weights.

    Parameters
    ----------
    config : TrainConfig
        The run's configuration.
    checkpoint_dir : path
        The ``checkpoint_dir`` the run was given.
    device : str or torch.device, optional
        Where the networks are put (the CPU by default).

    Returns
    -------
    (list of torch.nn.Module, int)
        The networks (the first is the one evaluated; Co-teaching has two) and the epochs done.

    Raises
    ------
    TypeError
        ``config`` is not a :class:`TrainConfig`.
    FileNotFoundError
        No checkpoint of this run (none, or another run's) in ``checkpoint_dir``, naming the file.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     cfg = make_config("cifar10", 0.4, "cce", preset="smoke", train_size=20, test_size=20, batch_size=10)
    ...     rec = run(cfg, tmp, checkpoint_dir=tmp, data_root=tmp, checksums=sums, progress=False, stop_after=1)
    ...     models, epochs = checkpoint_models(cfg, tmp)
    >>> rec["complete"], len(models), epochs
    (False, 1, 1)
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (watlib.train.make_config), got {describe(config)}")
    path = checkpoint_path(checkpoint_dir, config)
    state = read_checkpoint(path, config.key(), device)
    if state is None:
        raise FileNotFoundError(f"no checkpoint of the run {config.name()} at {path}: run it with "
                                f"checkpoint_dir={str(checkpoint_dir)!r} and stop_after first")
    models = [_network(config) for _ in state["models"]]
    for model, weights in zip(models, state["models"]):
        model.load_state_dict(weights)
    return [m.to(device if device is not None else "cpu").train() for m in models], int(state["epoch"])


def grid_configs(dataset: str, noises, methods, seeds, preset: str = "auto", **overrides) -> list[TrainConfig]:
    """The configurations of a grid of runs, in the order methods x seeds x noise rates.

    ``cost`` and ``cost_scale`` are settings of WAT's regularizer, ``val_size`` of the CCE
    run behind Forward and Backward, ``init_epoch`` of D2L: in a grid each applies to the
    methods of :func:`methods_with_field` and the other methods run as they are (a grid with
    such a setting but none of its methods is an error).

    Parameters
    ----------
    dataset, preset, **overrides
        See :func:`make_config`.
    noises : sequence of float
    methods : sequence of str
    seeds : sequence of int
        Each a non-empty sequence (a list, tuple...): a bare str or number is a TypeError.

    Returns
    -------
    list of TrainConfig

    Examples
    --------
    >>> [(c.method, c.cost) for c in grid_configs("fashion_mnist", [0.4], ["cce", "wat01"], [0], preset="cpu",
    ...                                           cost="oracle")]
    [('cce', None), ('wat01', 'oracle')]
    >>> grid_configs("fashion_mnist", [0.4], ["cce"], [0], cost="oracle")
    Traceback (most recent call last):
    ...
    ValueError: cost applies to the methods ('wat01', 'watc') only, got cost='oracle' for the methods ['cce']
    >>> grid_configs("fashion_mnist", [0.4], "cce", [0])
    Traceback (most recent call last):
    ...
    TypeError: methods must be a sequence of method names (a list or tuple), not a str, got 'cce'; write ['cce']
    """
    noises = check_sequence("noises", noises, of="noise rates")  # a bare str would be taken letter by letter
    methods = check_sequence("methods", methods, of="method names")
    seeds = check_sequence("seeds", seeds, of="ints")
    specific = {k: overrides.pop(k) for k in _specific_fields() if overrides.get(k) is not None}
    for name, value in specific.items():
        if not set(methods) & set(methods_with_field(name)):
            raise ValueError(f"{name} applies to the methods {methods_with_field(name)} only, got {name}={value!r} for "
                             f"the methods {list(methods)}")
    return [make_config(dataset, p, m, preset=preset, seed=s, **overrides,
                        **{k: v for k, v in specific.items() if k in method_fields(m)})
            for m in methods for s in seeds for p in noises]
