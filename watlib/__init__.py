"""watlib: Wasserstein Adversarial Training (WAT) for learning with noisy labels.

The flat public API gathers the functions of the modules, one module per idea of the paper:

- :mod:`watlib.paper`: the paper's hyperparameters and its Tables 2 and 3, defined once.
- :mod:`watlib.ot`: batched entropic OT, ``sinkhorn`` and ``ot_loss`` (Eq. 5), with
  convergence diagnostics and ``ConvergenceWarning``.
- :mod:`watlib.ot_settings`: ``OTSettings``, the regularization and solver settings of WAT's
  OT solves in one frozen object; training's, ``TRAIN_OT`` (Newton), the first study's,
  ``STUDY_OT`` (converged Sinkhorn), and the released code's, ``RELEASED_OT``.
- :mod:`watlib.adversarial`: divergences ``kl``, ``l2``, ``tv``, ``wasserstein``; the direction
  search of Algorithm 1 (``adversarial_perturbation``); ``vat_loss`` and ``wat_loss`` (Eq. 6).
- :mod:`watlib.costs`: ground costs, built apart from the solver.
- :mod:`watlib.noise`: label-noise simulation (row-stochastic transition matrices; the
  object-level noise of the segmentation experiment, ``object_noise``).
- :mod:`watlib.data`: the data-set registry (``dataset_info``) and datasets (Fashion-MNIST,
  CIFAR-10/100 through torchvision; ISPRS Vaihingen through rasterio, and synthetic scenes
  in its layout).
- :mod:`watlib.methods`: the ten training objectives of Table 2.
- :mod:`watlib.records`: the record store: where records live and how they are named,
  locked, written and read, and their provenance.
- :mod:`watlib.engine`: the life cycle every run shares: cache and lock, the epoch loop,
  checkpoints, the record of a run.
- :mod:`watlib.audit`: records checked by rerunning them (``verify_record``) and brought to
  the current schema (``migrate_records``).
- :mod:`watlib.train`: configurations, presets, data and evaluation of Table 2's runs
  (``watlib.train.run(watlib.train.make_config(...))``, or ``python -m watlib train``).
- :mod:`watlib.validation`: the noisy validation split of the CCE run and its best model, on
  which Forward and Backward's transition estimate is made (Patrini et al.'s protocol).
- :mod:`watlib.sweep`: a grid of Table 2's runs (``run_many``), one after the other or as Ray
  tasks on a local instance or a cluster (``executor="ray"``; Ray is imported only when a
  sweep runs).
- :mod:`watlib.train_segmentation`: the segmentation runs of Section 5.2
  (``run_segmentation(make_segmentation_config(...))``), on the same engine.
- :mod:`watlib.results`: the paper's Tables 2 and 3 as DataFrames, ``results_table``,
  ``segmentation_table`` and ``run_summary`` over run records.
- :mod:`watlib.comparisons`: runs compared seed by seed: paired t-intervals, Holm-adjusted
  p-values (``paired_differences``) and the share of the noise's damage a method recovers
  (``damage_recovered``); not imported here (it needs pandas, like :mod:`watlib.results`).
- :mod:`watlib.toy`: the 2-D three-class toy of Figure 2.
- :mod:`watlib.models`: networks (``MLP``, the paper's ``CNN9``, the ``UNet`` of Section 5.2).
- :mod:`watlib.segmentation`: full-tile prediction and the metrics of Table 3
  (``from watlib import segmentation``; not imported here, so ``import watlib`` does not load
  scikit-learn).
- :mod:`watlib.plot`: the figures the chapters share, a package by subject (``from watlib import
  plot``; not imported here, so ``import watlib`` does not load Matplotlib).
- :mod:`watlib.testing`: writers of small files in the real formats, for tests (not imported
  here).
"""

from . import (
    adversarial,
    audit,
    costs,
    data,
    engine,
    methods,
    models,
    noise,
    ot,
    ot_settings,
    paper,
    records,
    sweep,
    toy,
    train,
    train_segmentation,
    validation,
)
from .adversarial import (
    adversarial_perturbation,
    divergence_derivatives,
    frozen_batchnorm,
    kl,
    l2,
    tv,
    vat_loss,
    wasserstein,
    wat_loss,
)
from .costs import (
    GLOVE_VECTORS,
    class_names,
    cost_from_matrix,
    feature_cost,
    load_word_vectors,
    mean_off_diagonal,
    scale_to_mean,
    transition_cost,
    word_vector_cost,
    word_vector_distance_cost,
    zero_one_cost,
    CostInputs,
    GroundCost,
    GROUND_COSTS,
    register_ground_cost,
)
from .data import (
    ClassificationDataset,
    DatasetChecksumError,
    DatasetInfo,
    DatasetNotFoundError,
    dataset_info,
    load_dataset,
    register_dataset,
    subset,
)
from .methods import METHODS, Method, make_method, register_method
from .audit import verify_record
from .sweep import run_many
from .models import (CNN9, MLP, TABLE1_CHANNELS, UNET_BASE_CHANNELS, UNET_MAX_DEPTH, UNET_MAX_PARAMETERS, UNet,
                     count_parameters, unet_parameter_count)
from .noise import (
    VAIHINGEN_CONFUSIONS,
    ObjectNoiseReport,
    corrupt_labels,
    noise_report,
    object_noise,
    transition_matrix,
)
from .ot import (
    CHECK_EVERY,
    GRAD_MODES,
    MAX_ITER,
    SOLVERS,
    TOL,
    TRAIN_GRAD,
    TRAIN_SOLVER,
    check_solver_choice,
    resolve_solver,
    TRAIN_MAX_ITER,
    TRAIN_TOL,
    WARN_VIOLATION,
    ConvergenceWarning,
    SinkhornDiagnostics,
    choose_solver,
    ot_loss,
    sinkhorn,
)
from .ot_settings import OT_PRESETS, RELEASED_OT, STUDY_OT, TRAIN_OT, OTSettings, ot_fields
from .toy import (
    TOY_CLASSES,
    TOY_COLORS,
    TOY_REGULARIZERS,
    make_toy_data,
    summarize_draws,
    toy_cost,
    toy_regularizer,
    toy_scores,
    train_toy_classifier,
    train_toy_draws,
)

from ._version import __version__  # noqa: E402  (the records store it too)


def __getattr__(name):
    # watlib.results needs pandas (the extra 'plot'): imported on first use, so that the core
    # imports without it
    if name == "results":
        import sys

        from .results import results_table  # noqa: F401  (loads the module; a missing pandas names its extra)

        return sys.modules[f"{__name__}.results"]
    raise AttributeError(f"module 'watlib' has no attribute {name!r}")

__all__ = [
    # ot
    "sinkhorn",
    "ot_loss",
    "SinkhornDiagnostics",
    "ConvergenceWarning",
    "MAX_ITER",
    "TOL",
    "WARN_VIOLATION",
    "CHECK_EVERY",
    "GRAD_MODES",
    "SOLVERS",
    "choose_solver",
    "TRAIN_MAX_ITER",
    "TRAIN_TOL",
    "TRAIN_GRAD",
    "TRAIN_SOLVER",
    "OTSettings",
    "TRAIN_OT",
    "STUDY_OT",
    "RELEASED_OT",
    "OT_PRESETS",
    "ot_fields",
    "check_solver_choice",
    "resolve_solver",
    # adversarial
    "kl",
    "l2",
    "tv",
    "wasserstein",
    "adversarial_perturbation",
    "vat_loss",
    "wat_loss",
    "frozen_batchnorm",
    "divergence_derivatives",
    # costs
    "GLOVE_VECTORS",
    "class_names",
    "zero_one_cost",
    "cost_from_matrix",
    "load_word_vectors",
    "word_vector_cost",
    "word_vector_distance_cost",
    "feature_cost",
    "transition_cost",
    "mean_off_diagonal",
    "scale_to_mean",
    "CostInputs",
    "GroundCost",
    "GROUND_COSTS",
    "register_ground_cost",
    # toy
    "TOY_CLASSES",
    "TOY_COLORS",
    "toy_cost",
    "make_toy_data",
    "train_toy_classifier",
    "toy_scores",
    "TOY_REGULARIZERS",
    "toy_regularizer",
    "train_toy_draws",
    "summarize_draws",
    # noise
    "transition_matrix",
    "corrupt_labels",
    "noise_report",
    "VAIHINGEN_CONFUSIONS",
    "ObjectNoiseReport",
    "object_noise",
    # data
    "dataset_info",
    "DatasetInfo",
    "register_dataset",
    # methods
    "METHODS",
    "Method",
    "make_method",
    "register_method",
    "load_dataset",
    "subset",
    "ClassificationDataset",
    "DatasetNotFoundError",
    "DatasetChecksumError",
    # models
    "MLP",
    "CNN9",
    "TABLE1_CHANNELS",
    "count_parameters",
    "UNet",
    "UNET_BASE_CHANNELS",
    "UNET_MAX_DEPTH",
    "UNET_MAX_PARAMETERS",
    "unet_parameter_count",
    # audit, sweep
    "verify_record",
    "run_many",
    # submodules
    "paper",
    "records",
    "engine",
    "audit",
    "sweep",
    "ot",
    "adversarial",
    "costs",
    "toy",
    "models",
    "noise",
    "data",
    "methods",
    "train",
    "train_segmentation",
    "results",
    "validation",
]
