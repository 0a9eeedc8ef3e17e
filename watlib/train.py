r"""Training on noisy labels: presets, the training loop, checkpoints, run records and the cache.

One entry point, :func:`run`, serves the chapters and the command line
(``python -m watlib train ...``). A run is identified by its full configuration
(:class:`TrainConfig`); its JSON record is written under ``results/`` and loaded instead of
retraining when the same configuration is asked for again, so chapters re-executed at their
defaults do not redo hours of work and long sweeps can be finished piece by piece.

A run

1. loads the dataset (:func:`watlib.data.load_dataset`), draws a class-balanced training
   subset when the preset asks for one, and corrupts the training labels with the paper's
   asymmetric noise (:func:`watlib.noise.transition_matrix`,
   :func:`watlib.noise.corrupt_labels`); test labels stay clean;
2. builds :class:`watlib.models.cnn.CNN9` and the method (:func:`watlib.methods.make_method`);
3. trains with Adam (lr 1e-3, betas (0.9, 0.999)), dividing the learning rate by 10 at the
   preset's milestones, with mixed precision on CUDA;
4. after each epoch evaluates the clean test accuracy, saves a checkpoint and updates the
   record; an interrupted run resumes from its last checkpoint and ends, on CPU, with the
   same result as an uninterrupted one.

The paper's metric is the mean (and standard deviation) of the test accuracy over the last
10 epochs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm  # plain: no ipywidgets needed, no warning in notebooks

from .costs import class_names, word_vector_cost, zero_one_cost
from .methods import METHODS, estimate_transition_matrix, make_method

__all__ = ["PRESETS", "TrainConfig", "make_config", "run", "run_many", "find_results_dir", "default_device",
           "expected_flip_rate"]

DATASETS = ("fashion_mnist", "cifar10", "cifar100")

#: The paper's schedule per dataset: (epochs, lr milestones).
_PAPER_SCHEDULE = {"fashion_mnist": (60, (20, 40)), "cifar10": (120, (40, 80)), "cifar100": (150, (80, 120))}

#: What each preset sets; ``make_config`` fills in the dataset-dependent parts of ``paper``.
PRESETS = {
    # The paper's experiment (Section 5.1): full data, CNN9 at width 1, beta off for 15 epochs.
    "paper": dict(width=1.0, train_size=None, test_size=None, batch_size=256, warmup=15),
    # Two CPU cores, under 25 minutes a run on Fashion-MNIST, and still in the regime where
    # cross-entropy memorises the flipped labels (facts.md: 4k images at width 0.25 do, 10-20k
    # at width 0.125 do not).
    "cpu": dict(width=0.25, train_size=4000, test_size=None, batch_size=256, epochs=50,
                milestones=(17, 33), warmup=12),
    # Seconds, for CI.
    "smoke": dict(width=0.0625, train_size=256, test_size=256, batch_size=64, epochs=2,
                  milestones=(1,), warmup=1),
}


def _config_key(config) -> str:
    """A short hash of a configuration dataclass: the cache key of its run."""
    blob = json.dumps(dataclasses.asdict(config), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _resolve_preset(preset: str, presets: dict) -> str:
    """``auto`` becomes ``paper`` with CUDA and ``cpu`` without; anything else must be a preset."""
    if preset == "auto":
        preset = "paper" if torch.cuda.is_available() else "cpu"
    if preset not in presets:
        raise ValueError(f"preset must be 'auto' or one of {tuple(presets)}, got {preset!r}")
    return preset


def _given_overrides(config_class, overrides: dict) -> dict:
    """The overrides that are not None; a name that is not a field of ``config_class`` is an error."""
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown configuration fields {sorted(unknown)}; valid: {sorted(fields)}")
    return {k: v for k, v in overrides.items() if v is not None}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the outcome of a run (and so its cache key).

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
    beta, eps, xi, n_power, reg, warmup
        Adversarial regularizers (beta None: the paper's 5 for VAT, 10 for WAT).
    vectors : str
        Word vectors of WAT_C's ground cost.
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
    ValueError: noise must be a rate in [0, 1], got 1.5
    """

    dataset: str = "fashion_mnist"
    noise: float = 0.4
    method: str = "cce"
    seed: int = 0
    noise_variant: str | None = None
    epochs: int = 60
    milestones: tuple = (20, 40)
    batch_size: int = 256
    lr: float = 1e-3
    width: float = 1.0
    train_size: int | None = None
    test_size: int | None = None
    beta: float | None = None
    eps: float = 0.005
    xi: float = 1e-6
    n_power: int = 1
    reg: float = 0.05
    warmup: int = 15
    vectors: str = "glove-6b-50d"
    preset: str = "paper"

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"noise must be a rate in [0, 1], got {self.noise!r}")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.width <= 0:
            raise ValueError(f"width must be > 0, got {self.width!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))

    def key(self) -> str:
        """A short hash of the configuration: the cache key of the run."""
        return _config_key(self)

    def name(self) -> str:
        """A readable file stem: dataset, method, noise, seed and the key."""
        return f"{self.dataset}_{self.method}_noise{self.noise:g}_seed{self.seed}_{self.key()}"


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


def make_config(dataset: str = "fashion_mnist", noise: float = 0.4, method: str = "cce",
                preset: str = "auto", seed: int = 0, **overrides) -> TrainConfig:
    """The configuration of a run from a preset, with any field overridden.

    Parameters
    ----------
    dataset, noise, method, seed
        See :class:`TrainConfig`.
    preset : {"auto", "paper", "cpu", "smoke"}
        ``auto`` picks ``paper`` when CUDA is available and ``cpu`` otherwise.
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
    """
    preset = _resolve_preset(preset, PRESETS)
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    epochs, milestones = _PAPER_SCHEDULE[dataset]
    values = dict(epochs=epochs, milestones=milestones)
    values.update(PRESETS[preset])
    values.update(_given_overrides(TrainConfig, overrides))
    return TrainConfig(dataset=dataset, noise=noise, method=method, seed=seed, preset=preset, **values)


def find_results_dir(start: str | os.PathLike | None = None) -> Path:
    """Where run records live: ``$WATLIB_RESULTS``, else ``results/`` at the project root.

    The project root is the first folder at or above ``start`` (default: the working
    directory) holding ``_toc.yml`` (the book) — so chapters executed from ``book/`` and
    commands run from the root share one cache; ``./results`` when there is none.

    Parameters
    ----------
    start : path, optional

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = (Path(root) / "_toc.yml").write_text("root: intro")
    ...     (Path(root) / "book").mkdir()
    ...     found = find_results_dir(Path(root) / "book")
    ...     found == Path(root).resolve() / "results"  # unless $WATLIB_RESULTS is set
    True
    """
    if os.environ.get("WATLIB_RESULTS"):
        return Path(os.environ["WATLIB_RESULTS"])
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists():
            return folder / "results"
    return here / "results"


# ------------------------------------------------------------------------------ data
def _prepare_data(config: TrainConfig, data_root, checksums):
    """Training inputs, clean and noisy training labels, test inputs and labels, and T."""
    from .data import load_dataset, subset
    from .noise import corrupt_labels, transition_matrix

    train = load_dataset(config.dataset, root=data_root, train=True, checksums=checksums)
    test = load_dataset(config.dataset, root=data_root, train=False, checksums=checksums)
    if config.train_size is not None:
        train = subset(train, config.train_size, seed=config.seed)
    if config.test_size is not None:
        test = subset(test, config.test_size, seed=config.seed)
    T = transition_matrix(config.dataset, config.noise, variant=config.noise_variant)
    y_noisy = corrupt_labels(train.y, T, seed=config.seed)
    return train.x, train.y, y_noisy, test.x, test.y, T


@dataclass
class RunContext:
    """What a method may ask for before and during training (see :mod:`watlib.methods`)."""

    config: TrainConfig
    x_train: torch.Tensor
    device: torch.device
    results_dir: Path
    data_root: object
    checksums: object
    progress: bool

    def reference_transition(self, method: str = "cce") -> torch.Tensor:
        """:math:`\\hat T` estimated from the final model of the run that differs from this one
        only by its method (trained first when its record is not cached)."""
        ref = run(dataclasses.replace(self.config, method=method), results_dir=self.results_dir,
                  device=self.device, data_root=self.data_root, checksums=self.checksums,
                  progress=self.progress)
        return torch.tensor(ref["transition_estimate"], dtype=torch.float64)

    def fixed_train_inputs(self, n: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.config.seed + 12345)
        idx = torch.randperm(len(self.x_train), generator=g)[:n]
        return self.x_train[idx].to(self.device)


def _ground_cost(config: TrainConfig, K: int):
    if config.method == "wat01":
        return zero_one_cost(K)
    if config.method == "watc":
        return word_vector_cost(class_names(config.dataset), vectors=config.vectors)
    return None


@torch.no_grad()
def _predict(model, x, device, batch=1024):
    was = model.training
    model.eval()
    try:
        out = [model(x[i : i + batch].to(device)).float().softmax(dim=1).cpu() for i in range(0, len(x), batch)]
    finally:
        model.train(was)
    return torch.cat(out)


def _versions():
    import scipy

    from . import __version__

    return {"watlib": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def _summary(test_acc):
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


# ------------------------------------------------------------------------------ steps, checkpoints
class _Trainer:
    """The optimisation step and the checkpoint of a run, shared with :mod:`watlib.train_segmentation`.

    A checkpoint holds everything that makes a resumed run end exactly as an uninterrupted one
    on CPU: the networks, the optimiser, the scheduler, the grad scaler, the method's state,
    the generator of the data order and torch's global RNG (and CUDA's).
    """

    def __init__(self, key, label, method, models, optimizer, scheduler, scaler, generator, device):
        self.key, self.label, self.method, self.models = key, label, method, models
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.generator, self.device = generator, device

    def step(self, x, y, epoch: int) -> float:
        """One optimisation step (mixed precision when the scaler is enabled); the loss."""
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.scaler.is_enabled()):
            loss = self.method.loss(self.models, x, y, epoch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{self.label}: loss became {loss.item()} at epoch {epoch + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    def save(self, path: Path, epoch: int, elapsed: float, history: dict) -> None:
        """Write the checkpoint atomically: a run killed while saving keeps its previous one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        cuda = self.device.type == "cuda"
        partial = path.with_name(path.name + ".partial")
        torch.save({
            "key": self.key, "epoch": epoch, "elapsed": elapsed, "history": history,
            "models": [m.state_dict() for m in self.models], "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "method": self.method.state_dict(), "order_gen": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state(self.device) if cuda else None,
        }, partial)
        os.replace(partial, path)

    def restore(self, path: Path):
        """Load the checkpoint at ``path`` when it is this run's; (history, epoch, elapsed) or None."""
        if not path.exists():
            return None
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state["key"] != self.key:
            return None
        for m, s in zip(self.models, state["models"]):
            m.load_state_dict(s)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.method.load_state_dict(state["method"])
        self.generator.set_state(state["order_gen"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        return state["history"], state["epoch"], state["elapsed"]


# ------------------------------------------------------------------------------ run
def run(config: TrainConfig, results_dir=None, checkpoint_dir=None, device=None, data_root=None,
        checksums=None, progress: bool = True, force: bool = False, stop_after: int | None = None) -> dict:
    """Train one configuration, or load its record when it has already been trained.

    Parameters
    ----------
    config : TrainConfig
        The run (see :func:`make_config`).
    results_dir : path, optional
        Where records are cached (:func:`find_results_dir` by default). The record is
        ``<results_dir>/<dataset>/<config.name()>.json``.
    checkpoint_dir : path, optional
        Where the per-epoch checkpoint is kept (``<results_dir>/checkpoints`` by default; not
        meant to be committed). It is deleted when the run completes.
    device : str or torch.device, optional
        CUDA when available by default. Not part of the cache key; recorded.
    data_root : path, optional
        Where the dataset files are (see :func:`watlib.data.load_dataset`).
    checksums : dict, optional
        MD5 table of the dataset files (default: the real files'); the table returned by
        :func:`watlib.data.write_fake_cifar` lets its generated test files through.
    progress : bool
        A progress bar per epoch.
    force : bool
        Retrain even when a record exists.
    stop_after : int, optional
        Stop (as if interrupted) after this many epochs in this call; for tests of resume.

    Returns
    -------
    dict
        The run record: ``config``, ``key``, ``history`` (per epoch: ``epoch``, ``train_loss``,
        ``test_acc``, ``lr``, ``seconds`` and any values the method reports), ``metric``
        (last-10-epoch mean and std, final, peak and its epoch), ``noise`` (the realised flip
        rate and ``transition``, the true T), ``device``, ``versions``, ``seed``,
        ``wall_time_s`` and, for ``cce``, ``transition_estimate`` (T estimated from the final
        model, used by the Forward and Backward corrections); ``complete`` is False for a run
        stopped by ``stop_after``.

    Examples
    --------
    A two-epoch run on generated CIFAR-10 files (random pixels: the accuracy means nothing):

    >>> import tempfile
    >>> from watlib.data import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     cfg = make_config("cifar10", 0.4, "cce", preset="smoke", train_size=20, test_size=20, batch_size=10)
    ...     rec = run(cfg, results_dir=tmp, data_root=tmp, checksums=sums, progress=False)
    >>> rec["complete"], rec["history"]["epoch"], sorted(rec["metric"])
    (True, [1, 2], ['final', 'last10_mean', 'last10_std', 'peak', 'peak_epoch'])
    """
    results_dir = Path(results_dir) if results_dir is not None else find_results_dir()
    record_path = results_dir / config.dataset / f"{config.name()}.json"
    if record_path.exists() and not force:
        record = json.loads(record_path.read_text())
        if record.get("complete"):
            return record
    device = torch.device(device) if device is not None else default_device()
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else results_dir / "checkpoints"
    ckpt_path = checkpoint_dir / f"{config.name()}.pt"

    x_train, y_clean, y_noisy, x_test, y_test, T = _prepare_data(config, data_root, checksums)
    K = int(T.shape[0])
    context = RunContext(config, x_train, device, results_dir, data_root, checksums, progress)
    cost = _ground_cost(config, K)
    method = make_method(config.method, noise=expected_flip_rate(T, y_clean), epochs=config.epochs, beta=config.beta,
                         eps=config.eps, xi=config.xi, n_power=config.n_power, reg=config.reg,
                         warmup=config.warmup, cost=cost)
    method.prepare(context)

    from .models.cnn import CNN9

    torch.manual_seed(config.seed)
    models = [m.to(device) for m in method.build(lambda: CNN9(x_train.shape[1], K, width=config.width))]
    params = [p for m in models for p in m.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=(0.9, 0.999))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.milestones), gamma=0.1)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    order_gen = torch.Generator().manual_seed(config.seed)
    history = {"epoch": [], "train_loss": [], "test_acc": [], "lr": [], "seconds": []}
    start_epoch, elapsed = 0, 0.0

    trainer = _Trainer(config.key(), config.method, method, models, optimizer, scheduler, scaler, order_gen, device)
    if not force:
        history, start_epoch, elapsed = trainer.restore(ckpt_path) or (history, start_epoch, elapsed)

    n = len(x_train)
    for epoch in range(start_epoch, config.epochs):
        if stop_after is not None and epoch - start_epoch >= stop_after:
            break
        t0 = time.perf_counter()
        for m in models:
            m.train()
        perm = torch.randperm(n, generator=order_gen)
        total, count = 0.0, 0
        bar = tqdm(range(0, n, config.batch_size), desc=f"{config.method} epoch {epoch + 1}/{config.epochs}",
                   disable=not progress, leave=False)
        for i in bar:
            idx = perm[i : i + config.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            x = x_train[idx].to(device, non_blocking=True)
            y = y_noisy[idx].to(device, non_blocking=True)
            total += trainer.step(x, y, epoch) * len(idx)
            count += len(idx)
            bar.set_postfix(loss=f"{total / count:.4f}")
        extra = method.end_epoch(models, epoch, context)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        probs = _predict(method.predictor(models), x_test, device)
        acc = float((probs.argmax(dim=1) == y_test).double().mean() * 100)
        seconds = time.perf_counter() - t0
        elapsed += seconds
        for k, v in (("epoch", epoch + 1), ("train_loss", total / max(count, 1)), ("test_acc", acc),
                     ("lr", lr), ("seconds", seconds), *extra.items()):
            history.setdefault(k, []).append(v)
        if progress:
            tqdm.write(f"{config.method} epoch {epoch + 1}/{config.epochs}: loss {total / max(count, 1):.4f}, "
                       f"test accuracy {acc:.2f}%")
        trainer.save(ckpt_path, epoch + 1, elapsed, history)

    complete = len(history["epoch"]) == config.epochs
    record = {
        "config": dataclasses.asdict(config), "key": config.key(), "complete": complete,
        "history": history, "metric": _summary(history["test_acc"]) if history["test_acc"] else None,
        "noise": {"transition": T.tolist(), "realised_rate": float((y_noisy != y_clean).double().mean())},
        "device": _device_name(device), "versions": _versions(), "seed": config.seed,
        "wall_time_s": elapsed, "n_train": n, "n_test": len(x_test),
    }
    if complete and config.method == "cce":
        probs = _predict(models[0], x_train, device)
        record["transition_estimate"] = estimate_transition_matrix(probs).tolist()
    text = json.dumps(record, indent=1)
    if complete:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(text)
        ckpt_path.unlink(missing_ok=True)
    return json.loads(text)  # the same types (lists, not tuples) whether trained or cached


def run_many(dataset: str, noise: float, methods, seeds=(0,), preset: str = "auto", results_dir=None,
             device=None, data_root=None, checksums=None, progress: bool = True, **overrides) -> list[dict]:
    """:func:`run` for every (method, seed) pair, cached runs loaded, with a progress bar over runs.

    Parameters
    ----------
    dataset, noise, preset, **overrides
        See :func:`make_config`.
    methods : sequence of str
        Methods of :data:`watlib.methods.METHODS`.
    seeds : sequence of int
    results_dir, device, data_root, checksums, progress
        See :func:`run`.

    Returns
    -------
    list of dict
        The run records, in the order methods x seeds.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.data import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     recs = run_many("cifar10", 0.4, ["cce", "bootsoft"], seeds=[0], preset="smoke", results_dir=tmp,
    ...                     data_root=tmp, checksums=sums, progress=False, train_size=20, test_size=20,
    ...                     batch_size=10, epochs=1)
    >>> [r["config"]["method"] for r in recs]
    ['cce', 'bootsoft']
    """
    configs = [make_config(dataset, noise, m, preset=preset, seed=s, **overrides) for m in methods for s in seeds]
    records = []
    bar = tqdm(configs, desc=f"{dataset} runs", disable=not progress)
    for config in bar:
        bar.set_postfix(method=config.method, seed=config.seed)
        records.append(run(config, results_dir=results_dir, device=device, data_root=data_root,
                           checksums=checksums, progress=progress))
    return records
