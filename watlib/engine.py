r"""The life cycle of a training run, shared by every experiment of the book.

:mod:`watlib.train` (Table 2) and :mod:`watlib.train_segmentation` (Table 3) describe *what*
a run is: its configuration, its data, its networks and how it is evaluated (a
:class:`Setup`). This module owns *how* every run is carried out, once:

1. **cache**: a run is identified by its configuration; its JSON record
   (:func:`watlib.records.record_path`) is loaded instead of retraining (the key
   in the name, :func:`watlib.records.config_key`, hashes the configuration with its
   schema version);
2. **lock**: a per-run lock (:func:`watlib.records.run_lock`), so that a second process
   asking for the same run waits for the first and then loads its record instead of training
   it again;
3. **optimisation**: Adam (the paper's betas) with the learning rate multiplied by
   :data:`watlib.paper.LR_DECAY` at each milestone, mixed precision on CUDA;
4. **the epoch loop** (:func:`run_epoch`), with a progress bar, the method's end-of-epoch
   hook and the experiment's evaluation hook after each epoch;
5. **checkpoint and resume**: after every epoch, everything that makes a resumed run end
   exactly as an uninterrupted one on CPU (networks, optimiser, schedule, scaler, the
   method's state, the data-order generator and torch's RNG);
6. **the record**: with its provenance (:func:`watlib.records.provenance`), written
   atomically like the checkpoints (:func:`watlib.records.atomic_write`), so a run killed
   while saving keeps its previous file and two processes never write to one name.

What a record is and where it lives is :mod:`watlib.records` (the store, below this
module); how a record migrates to a new schema and how it is verified is
:mod:`watlib.audit` (above the experiments).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import pickle
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm  # plain: no ipywidgets needed, no warning in notebooks

from . import paper
from ._checks import check_device, check_folder, check_int
from .records import (
    CorruptFileError,
    atomic_write,
    check_record,
    device_name,
    find_results_dir,
    provenance,
    read_arrays,
    read_record,
    record_path,
    run_lock,
    write_arrays,
    write_record,
)

__all__ = [
    "Setup",
    "run_cached",
    "run_epoch",
    "default_device",
    "resolve_device",
    "resolve_preset",
    "config_overrides",
    "folded_convergence_warnings",
    "SolveStats",
    "checkpoint_path",
    "read_checkpoint",
]

# ------------------------------------------------------------------------------ places, devices
def default_device() -> torch.device:
    """CUDA when available, else CPU.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> default_device().type in ("cuda", "cpu")
    True
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device=None) -> torch.device:
    """``device`` as a ``torch.device`` that exists on this machine (default: :func:`default_device`).

    Checked before any data loads, so a typo fails at once and not after an epoch.

    Parameters
    ----------
    device : str or torch.device, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...

    Returns
    -------
    torch.device

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got 'gpu'
    """
    if device is None:
        return default_device()
    return check_device("device", device, available=True)


# ------------------------------------------------------------------------------ configurations
def resolve_preset(preset: str, presets) -> str:
    """``auto`` becomes ``paper`` with CUDA and ``cpu`` without; anything else must be a preset.

    Parameters
    ----------
    preset : str
    presets : mapping
        The known presets (:data:`watlib.train.PRESETS`,
        :data:`watlib.train_segmentation.SEGMENTATION_PRESETS`).

    Returns
    -------
    str

    Examples
    --------
    >>> resolve_preset("cpu", {"paper": {}, "cpu": {}})
    'cpu'
    >>> resolve_preset("gpu", {"paper": {}, "cpu": {}})
    Traceback (most recent call last):
    ...
    ValueError: preset must be 'auto' or one of ('paper', 'cpu'), got 'gpu'
    """
    if preset == "auto":
        preset = "paper" if torch.cuda.is_available() else "cpu"
    if preset not in presets:
        raise ValueError(f"preset must be 'auto' or one of {tuple(presets)}, got {preset!r}")
    return preset


def config_overrides(config_class, overrides: dict) -> dict:
    """The overrides that are not None; a name that is not a field of ``config_class`` is an error.

    Parameters
    ----------
    config_class : dataclass type
    overrides : dict

    Returns
    -------
    dict

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Config:
    ...     epochs: int = 1
    ...     lr: float = 0.1
    >>> config_overrides(Config, {"epochs": 3, "lr": None})
    {'epochs': 3}
    >>> config_overrides(Config, {"epoch": 3})
    Traceback (most recent call last):
    ...
    ValueError: unknown configuration fields ['epoch'] for Config; valid: ['epochs', 'lr']
    """
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown configuration fields {sorted(unknown)} for {config_class.__name__}; "
                         f"valid: {sorted(fields)}")
    return {k: v for k, v in overrides.items() if v is not None}


# ------------------------------------------------------------------------------ the epoch loop
def run_epoch(step: Callable, batches: Iterable, *, total: int | None = None, progress: bool = False,
              desc: str | None = None) -> dict:
    """Run ``step`` on every batch; the batch-size-weighted mean of what it returns.

    Parameters
    ----------
    step : callable
        ``step(x, y)`` does one optimisation step and returns a float (the loss) or a dict
        of floats (with a ``"loss"`` entry).
    batches : iterable of (x, y)
        ``len(x)`` is the batch's weight.
    total : int, optional
        Number of batches, for the progress bar.
    progress : bool
        A progress bar over the batches (it disappears when the epoch ends).
    desc : str, optional
        Its title.

    Returns
    -------
    dict
        The weighted mean of each value ``step`` returned.

    Examples
    --------
    >>> import torch
    >>> batches = [(torch.zeros(3), None), (torch.zeros(1), None)]
    >>> losses = iter([1.0, 5.0])
    >>> run_epoch(lambda x, y: next(losses), batches)
    {'loss': 2.0}
    """
    sums: dict = {}
    weight = 0
    bar = tqdm(batches, total=total, desc=desc, disable=not progress, leave=False, unit="batch")
    for x, y in bar:
        values = step(x, y)
        if not isinstance(values, dict):
            values = {"loss": values}
        n = len(x)
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + float(v) * n
        weight += n
        if "loss" in sums:
            bar.set_postfix(loss=f"{sums['loss'] / weight:.4f}")
    return {k: v / max(weight, 1) for k, v in sums.items()}


@contextlib.contextmanager
def folded_convergence_warnings(label: str, steps: Callable[[], int] | None = None):
    """Fold the :class:`watlib.ot.ConvergenceWarning` raised inside into one warning on exit.

    A training loop whose regularizer solves an OT problem at every step would otherwise
    print one warning per step (their messages differ, so Python shows each). Other warnings
    pass through unchanged.

    Parameters
    ----------
    label : str
        What ran (named in the summary).
    steps : callable, optional
        ``steps()`` gives the number of steps run, for "in k of n steps".

    Examples
    --------
    >>> import warnings
    >>> import torch
    >>> from watlib.ot import ConvergenceWarning, ot_loss
    >>> a, b = torch.tensor([0.7, 0.3]), torch.tensor([0.2, 0.8])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     with folded_convergence_warnings("two calls"):
    ...         for _ in range(2):
    ...             _ = ot_loss(a, b, 1 - torch.eye(2), reg=1e-3)
    >>> [str(w.message).split(":")[0] for w in caught]
    ['two calls']
    """
    from .ot import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    folded = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if folded:
        of = f" of {steps()}" if steps is not None else ""
        warnings.warn(f"{label}: the OT solver stopped unconverged {len(folded)} time(s){of}; the first time: "
                      f"{folded[0].message}", ConvergenceWarning, stacklevel=3)


class SolveStats:
    r"""The convergence of one epoch's OT solves, folded step by step (WAT's runs and the toy's).

    Each :meth:`add` takes the :class:`watlib.ot.SinkhornDiagnostics` of one step's solve of
    :math:`B` problems; :meth:`pop` returns, for the steps added since the last pop,

    .. math::
        \bar v = \frac{\sum_{s, b} v_{s b}}{\sum_s B_s}, \qquad
        v_{\max} = \max_{s, b} v_{s b}, \qquad
        \bar n = \frac1S \sum_s n_s, \qquad n_{\max} = \max_s n_s,

    the mean and largest marginal violation over all problems and the mean and largest number
    of iterations per step, under :attr:`KEYS`; or None when no solve was added. A NaN
    violation is kept as the epoch's largest (Python's ``max(0.0, nan)`` is 0.0), so that a
    diverged solve never reads as converged.

    Examples
    --------
    >>> import torch
    >>> from watlib.ot import ot_loss
    >>> stats = SolveStats()
    >>> for reg in (0.5, 0.2):
    ...     _, diag = ot_loss(torch.tensor([[0.7, 0.3]]), torch.tensor([[0.2, 0.8]]), 1 - torch.eye(2), reg=reg,
    ...                       return_diagnostics=True)
    ...     stats.add(diag)
    >>> summary = stats.pop()
    >>> sorted(summary) == sorted(SolveStats.KEYS), summary["ot_violation_max"] <= 1e-6, stats.pop()
    (True, True, None)
    """

    #: The names of the summary's values, as WAT's records and the toy's histories hold them.
    KEYS = ("ot_violation_mean", "ot_violation_max", "ot_iterations_mean", "ot_iterations_max")

    def __init__(self):
        self._steps = []  # (sum of violations, problems, largest violation, iterations) per step

    def add(self, diagnostics) -> None:
        """Fold in one step's :class:`watlib.ot.SinkhornDiagnostics`."""
        v = diagnostics.marginal_violation.detach().reshape(-1).double()
        total, worst = torch.stack([v.sum(), v.max()]).tolist() if v.numel() else (0.0, 0.0)  # one sync; NaN stays
        self._steps.append((total, v.numel(), worst, int(diagnostics.iterations)))

    def pop(self) -> dict | None:
        """The summary of the steps added since the last call (None if none), and start afresh."""
        steps, self._steps = self._steps, []
        if not steps:
            return None
        worsts = [worst for _, _, worst, _ in steps]
        largest = next((w for w in worsts if math.isnan(w)), max(worsts))
        iterations = [n for *_, n in steps]
        return {"ot_violation_mean": sum(t for t, *_ in steps) / max(sum(p for _, p, *_ in steps), 1),
                "ot_violation_max": largest, "ot_iterations_mean": sum(iterations) / len(iterations),
                "ot_iterations_max": max(iterations)}


@dataclass
class Setup:
    """What an experiment hands to the engine once its data are loaded: a run, ready to train.

    Attributes
    ----------
    models : list of torch.nn.Module
        The networks the method trains, on the run's device (built after
        ``torch.manual_seed(config.seed)``).
    method : watlib.methods.Method
        Its ``loss``, ``end_epoch``, ``state_dict`` and ``load_state_dict`` are used.
    batches : callable
        ``batches(epoch, generator)`` yields the epoch's (x, y) on the device; the
        generator is the run's data-order generator (seeded with ``config.seed``,
        checkpointed).
    n_batches : int
        Batches per epoch (for the progress bar).
    evaluate : callable
        ``evaluate(epoch) -> dict`` of floats recorded in the history after each epoch
        (``test_acc``, ``val_oa``...).
    finish : callable
        ``finish(history, complete) -> (fields, arrays)``: fields added to the record (a
        summary metric, test scores...) and, for a complete run, arrays stored beside it in
        ``<name>.npz`` (None: no array file).
    fields : dict
        Record fields known at set-up (noise realised, data sizes, data source...).
    context : object
        Handed to ``method.end_epoch``.
    state : object, optional
        State of the experiment's own hooks that a resumed run needs (with ``state_dict()``
        and ``load_state_dict(state)``, like the method's), checkpointed after every epoch:
        the CCE run's best model on its validation split (:mod:`watlib.validation`).

    Examples
    --------
    >>> Setup(models=[], method=None, batches=lambda e, g: [], n_batches=0, evaluate=lambda e: {}).fields
    {}
    """

    models: list
    method: object
    batches: Callable
    n_batches: int
    evaluate: Callable
    finish: Callable = lambda history, complete: ({}, None)  # noqa: E731
    fields: dict = field(default_factory=dict)
    context: object = None
    state: object = None


class _Checkpoint:
    """The optimisation step and the checkpoint of a run in progress."""

    def __init__(self, key, label, setup, optimizer, scheduler, scaler, generator, device):
        self.key, self.label, self.setup = key, label, setup
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.generator, self.device = generator, device

    def step(self, x, y, epoch: int) -> float:
        """One optimisation step (mixed precision when the scaler is enabled); the loss."""
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.scaler.is_enabled()):
            loss = self.setup.method.loss(self.setup.models, x, y, epoch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{self.label}: loss became {loss.item()} at epoch {epoch + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    def save(self, path: Path, epoch: int, elapsed: float, history: dict) -> None:
        cuda = self.device.type == "cuda"
        state = {
            "key": self.key, "epoch": epoch, "elapsed": elapsed, "history": history,
            "models": [m.state_dict() for m in self.setup.models], "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "method": self.setup.method.state_dict(), "order_gen": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state(self.device) if cuda else None,
            "setup": self.setup.state.state_dict() if self.setup.state is not None else None,
        }
        atomic_write(path, lambda fh: torch.save(state, fh))

    def restore(self, path: Path):
        """Load the checkpoint at ``path`` when it is this run's; (history, epoch, elapsed) or None."""
        state = read_checkpoint(path, self.key, self.device)
        if state is None:
            return None
        for m, s in zip(self.setup.models, state["models"]):
            m.load_state_dict(s)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.setup.method.load_state_dict(state["method"])
        if self.setup.state is not None and state.get("setup") is not None:
            self.setup.state.load_state_dict(state["setup"])
        self.generator.set_state(state["order_gen"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        return state["history"], state["epoch"], state["elapsed"]


def checkpoint_path(checkpoint_dir, config) -> Path:
    """Where :func:`run_cached` keeps the per-epoch checkpoint of ``config``'s run.

    Parameters
    ----------
    checkpoint_dir : path
        The run's ``checkpoint_dir``.
    config : frozen dataclass
        The run's configuration (its ``name()`` names the file).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from watlib.train import make_config
    >>> checkpoint_path("checkpoints", make_config("fashion_mnist", 0.4, "cce", preset="cpu")).suffix
    '.pt'
    """
    return Path(checkpoint_dir) / f"{config.name()}.pt"


def read_checkpoint(path, key: str, device=None) -> dict | None:
    """The checkpoint at ``path`` if it is of the run whose :func:`watlib.records.config_key` is
    ``key``, else None (no file, or another run's).

    Parameters
    ----------
    path : path
        A checkpoint file (:func:`checkpoint_path`).
    key : str
        The run's ``config.key()``.
    device : str or torch.device, optional
        Where the tensors are loaded (the CPU by default).

    Returns
    -------
    dict or None
        ``key``, ``epoch`` (epochs done), ``elapsed``, ``history``, ``models`` (one
        ``state_dict`` per network), and the optimizer's, scheduler's, method's and random
        generators' states a resumed run restores.

    Raises
    ------
    watlib.records.CorruptFileError
        The file is not a readable checkpoint (a torn write), naming it.

    Examples
    --------
    >>> read_checkpoint("/nonexistent/run.pt", "0123abcd") is None
    True
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device if device is not None else "cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise CorruptFileError.of(path, "checkpoint", err) from None
    return state if isinstance(state, dict) and state.get("key") == key else None


def _load_cached(record_path: Path, fields=()):
    """The complete record at ``record_path`` (with its arrays), or None; a complete one
    without the engine's fields or ``fields`` is a CorruptFileError naming the file."""
    if not record_path.exists():
        return None
    record = read_record(record_path)
    if not record.get("complete"):
        return None
    check_record(record, record_path, ("config", "key", "history.epoch", *fields))
    if record.get("arrays") is not None:
        record["arrays"] = read_arrays(record_path.with_suffix(".npz"))
    return record


def _warn_older_schema(record_path: Path, config) -> None:
    """Say so when records of this run exist under an older schema (they need a migration)."""
    stem = record_path.stem.rsplit("_", 1)[0]
    schema = getattr(type(config), "SCHEMA", 1)
    for other in record_path.parent.glob(f"{stem}_*.json"):
        try:
            older = read_record(other).get("schema", 1) < schema
        except CorruptFileError:
            continue
        if older:
            warnings.warn(f"{other} holds a run like this one recorded under schema "
                          f"{read_record(other).get('schema', 1)} < {schema}; it is not used as it is. "
                          "Run `python -m watlib migrate` to bring old records to the current schema.",
                          UserWarning, stacklevel=3)
            return


def run_cached(config, folder: str, setup: Callable, *, kind: str, results_dir=None, checkpoint_dir=None,
               device=None, progress: bool = True, force: bool = False, stop_after: int | None = None,
               fields=()) -> dict:
    """Train one run, or load its record when it has been trained; the engine behind every ``run``.

    Parameters
    ----------
    config : frozen dataclass
        With ``name()``, ``key()``, ``seed``, ``epochs``, ``milestones``, ``lr`` and
        ``method``; validated when it was built.
    folder : str
        Sub-folder of ``results_dir`` for the record (the data set).
    setup : callable
        ``setup(device) -> Setup``: loads the data and builds the networks and the method;
        only called when the run has to train.
    kind : {"classification", "segmentation"}
        Recorded, so that :func:`watlib.audit.verify_record` knows how to rerun it.
    results_dir : path, optional
        :func:`watlib.records.find_results_dir` by default. A folder, created when missing: a
        file there, or a place where no folder can be made (``/proc/x``), is a ValueError
        before anything else.
    checkpoint_dir : path, optional
        Where the per-epoch checkpoint is kept (``<results_dir>/checkpoints``); deleted when
        the run completes. Checked like ``results_dir`` before the data load.
    device : str or torch.device, optional
        Checked before anything else (:func:`resolve_device`).
    progress : bool
        Progress bars and a line per epoch.
    force : bool
        Retrain even when a record (or a checkpoint) exists.
    stop_after : int, optional
        >= 1: stop, as if interrupted, after this many epochs in this call (tests of resume,
        :func:`watlib.audit.verify_record`); the record of such a run is returned but not written.
    fields : sequence of str
        Fields (dotted paths, :func:`watlib.records.check_record`) a record of this experiment
        holds besides the engine's own: a cached record without one is a
        :class:`watlib.records.CorruptFileError` naming the file, not a KeyError later.

    Returns
    -------
    dict
        The record: ``schema``, ``kind``, ``config``, ``key``, ``complete``, ``history``
        (per epoch: ``epoch``, ``train_loss``, ``lr``, ``seconds``, the evaluation's values
        and the method's end-of-epoch values), ``device``, ``versions``, ``provenance``,
        ``seed``, ``wall_time_s``, the setup's fields and its finish fields; ``arrays``
        (a dict of arrays) when the run stores any.

    Examples
    --------
    A least-squares "network" on four points, one epoch:

    >>> import tempfile
    >>> from dataclasses import dataclass
    >>> from watlib.methods import Method
    >>> class Regression(Method):
    ...     def loss(self, models, x, y, epoch):
    ...         return ((models[0](x).squeeze(1) - y) ** 2).mean()
    >>> @dataclass(frozen=True)
    ... class Config:
    ...     seed: int = 0
    ...     epochs: int = 1
    ...     milestones: tuple = ()
    ...     lr: float = 0.1
    ...     method: str = "regression"
    ...     def key(self): return "k0"
    ...     def name(self): return f"toy_{self.key()}"
    >>> def setup(device):
    ...     x, y = torch.randn(4, 1), torch.zeros(4)
    ...     return Setup(models=[torch.nn.Linear(1, 1)], method=Regression(), n_batches=1,
    ...                  batches=lambda epoch, gen: [(x, y)], evaluate=lambda epoch: {"mse": 0.0})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     rec = run_cached(Config(), "toy", setup, kind="demo", results_dir=tmp, device="cpu", progress=False)
    ...     again = run_cached(Config(), "toy", None, kind="demo", results_dir=tmp, progress=False)  # cached
    >>> rec["complete"], rec["history"]["epoch"], again == rec
    (True, [1], True)
    """
    if stop_after is not None:
        check_int("stop_after", stop_after, ge=1)  # before any data loads: 0 epochs is no run
    device = resolve_device(device)
    results_dir = check_folder("results_dir", results_dir if results_dir is not None else find_results_dir())
    path = record_path(results_dir, folder, config.name())
    if not force:
        cached = _load_cached(path, fields)
        if cached is not None:
            return cached
    # a file or an impossible place fails here, before the data load, not when epoch 1 is saved
    checkpoint_dir = check_folder("checkpoint_dir", checkpoint_dir if checkpoint_dir is not None
                                  else results_dir / "checkpoints")
    ckpt_path = checkpoint_path(checkpoint_dir, config)
    with run_lock(path, progress):
        if not force:  # another process may have finished this run while we waited
            cached = _load_cached(path, fields)
            if cached is not None:
                return cached
            _warn_older_schema(path, config)
        return _train(config, kind, setup(device), device, path, ckpt_path, progress, force, stop_after)


def _train(config, kind, setup, device, record_path, ckpt_path, progress, force, stop_after):
    # what made the record, read before the first epoch: the commit and source hash are cached
    # for the process, so they describe the code as it was when the run started, not files
    # edited while it trained
    made_by = provenance(device)
    params = [p for m in setup.models for p in m.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=paper.ADAM_BETAS)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.milestones),
                                                     gamma=paper.LR_DECAY)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    order_gen = torch.Generator().manual_seed(config.seed)
    history = {"epoch": [], "train_loss": [], "lr": [], "seconds": []}
    start_epoch, elapsed = 0, 0.0
    label = config.method
    state = _Checkpoint(config.key(), label, setup, optimizer, scheduler, scaler, order_gen, device)
    if not force:
        history, start_epoch, elapsed = state.restore(ckpt_path) or (history, start_epoch, elapsed)

    for epoch in range(start_epoch, config.epochs):
        if stop_after is not None and epoch - start_epoch >= stop_after:
            break
        t0 = time.perf_counter()
        for m in setup.models:
            m.train()
        means = run_epoch(lambda x, y, e=epoch: state.step(x, y, e), setup.batches(epoch, order_gen),
                          total=setup.n_batches, progress=progress, desc=f"{label} epoch {epoch + 1}/{config.epochs}")
        extra = setup.method.end_epoch(setup.models, epoch, setup.context) or {}
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        scores = setup.evaluate(epoch)
        seconds = time.perf_counter() - t0
        elapsed += seconds
        row = {"epoch": epoch + 1, "train_loss": means.get("loss", math.nan), **scores, "lr": lr,
               "seconds": seconds, **extra}
        for k, v in row.items():
            history.setdefault(k, []).append(v)
        if progress:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in scores.items() if isinstance(v, (int, float)))
            tqdm.write(f"{label} epoch {epoch + 1}/{config.epochs}: loss {row['train_loss']:.4f}, {shown}")
        state.save(ckpt_path, epoch + 1, elapsed, history)

    complete = len(history["epoch"]) == config.epochs
    fields, arrays = setup.finish(history, complete)
    record = {
        "schema": getattr(type(config), "SCHEMA", 1), "kind": kind, "config": dataclasses.asdict(config),
        "key": config.key(), "complete": complete, "history": history, **setup.fields, **fields,
        "device": device_name(device), "versions": made_by["versions"], "provenance": made_by,
        "seed": config.seed, "wall_time_s": elapsed,
        "arrays": sorted(arrays) if arrays is not None else None,
    }
    record = json.loads(json.dumps(record))  # the same types (lists, not tuples) whether trained or cached
    if complete:
        if arrays is not None:
            write_arrays(record_path.with_suffix(".npz"), arrays)
        write_record(record_path, record)
        ckpt_path.unlink(missing_ok=True)
    if arrays is not None:
        record["arrays"] = dict(arrays)
    return record


