r"""Grids of runs: one after the other in this process, or as Ray tasks beyond one machine.

:func:`run_many` trains a grid of configurations one after the other in its
own process (``executor="local"``); with ``executor="ray"`` it hands the grid to
:func:`run_sweep`, which trains every run as a `Ray <https://docs.ray.io>`_ task, on a local
Ray instance or on a cluster. The division of labour:

1. **the driver** (the process that calls :func:`run_sweep`) owns the results folder. It
   loads the complete records already there (a sweep resumes: asking twice for the same
   sweep trains nothing the second time), submits the others, and writes each record a
   worker returns with :func:`watlib.records.write_record` while holding the run's lock
   (:func:`watlib.records.run_lock`), exactly where :func:`watlib.train.run` would have
   written it. Workers need no shared file system.
2. **a worker** trains one configuration with :func:`watlib.train.run` in a temporary
   folder of its own machine, with ``torch.set_num_threads(cpus_per_run)``, and returns the
   record. The driver names that folder (``watlib-sweep-<sweep>-<run key>``), so that a worker
   killed or cancelled mid-run leaves nothing behind: the task's retry empties it, and the
   driver removes it from its own machine's temporary directory when the task ends. Its
   per-epoch checkpoint goes to ``checkpoint_dir`` (by default a folder of the worker
   machine's temporary directory that outlives the task), so that a task retried
   after its worker died (Ray's ``max_retries``) resumes from its last epoch when it lands
   on a machine that kept the checkpoint.
3. **Forward and Backward** need the CCE run of the same configuration
   (:func:`watlib.train.estimate_transition`): the sweep trains that CCE run first (adding
   it to the sweep when it is neither asked for nor recorded) and ships its record to the
   worker, which writes it into its temporary folder before calling ``run``.

Each task asks for one GPU where the cluster has GPUs, and for ``cpus_per_run`` CPUs. One
progress bar counts the runs done out of the total and names the running ones; at the end
a summary says how many runs were trained, loaded and failed. One failed run does not stop
the others; the failures are raised together at the end (:class:`SweepError`).

Ray is imported only when a sweep has something to train: ``import watlib`` does not load it.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from tqdm import tqdm

from ._checks import check_bool, check_choice, check_device, check_folder, check_int, describe
from ._extras import needs_extra
from .ot_settings import ot_preset_name
from .records import (CorruptFileError, check_record, find_results_dir, read_record, record_path, run_lock,
                      write_record)
from .train import RECORD_FIELDS, TrainConfig, grid_configs, reference_config, run

__all__ = ["EXECUTORS", "SweepRecords", "SweepError", "check_executor", "default_checkpoint_dir", "run_sweep",
           "run_many", "run_configs"]

#: How :func:`run_many` carries out a grid of runs: one after the other in this
#: process, or as Ray tasks (:func:`run_sweep`).
EXECUTORS = ("local", "ray")

class SweepRecords(list):
    """The records of a sweep, in the order the configurations were given, with its summary.

    A ``list`` of run records (dicts, as :func:`watlib.train.run` returns them) that also
    says what the sweep did with each run.

    Attributes
    ----------
    trained : list of str
        Names (``config.name()``) of the runs trained by this sweep, the CCE reference runs
        it added for Forward and Backward included.
    loaded : list of str
        Names of the runs whose complete record was already in the results folder.
    failed : dict of str to str
        Name of each run that failed and its error.

    Examples
    --------
    >>> recs = SweepRecords([{"key": "a"}], trained=[], loaded=["cifar10_cce_noise0.4_seed0_a"])
    >>> len(recs), recs.loaded, recs.summary()
    (1, ['cifar10_cce_noise0.4_seed0_a'], 'sweep: 0 run(s) trained, 1 loaded, 0 failed')
    """

    def __init__(self, records=(), trained=(), loaded=(), failed=None):
        super().__init__(records)
        self.trained, self.loaded, self.failed = list(trained), list(loaded), dict(failed or {})

    def summary(self) -> str:
        """One line: how many runs were trained, loaded and failed, and each failure on a line of its own.

        Returns
        -------
        str

        Examples
        --------
        >>> print(SweepRecords(failed={"run_a": "ValueError: bad"}).summary())
        sweep: 0 run(s) trained, 0 loaded, 1 failed
          FAILED run_a: ValueError: bad
        """
        lines = [f"sweep: {len(self.trained)} run(s) trained, {len(self.loaded)} loaded, {len(self.failed)} failed"]
        lines += [f"  FAILED {name}: {error}" for name, error in self.failed.items()]
        return "\n".join(lines)


class SweepError(RuntimeError):
    """Some runs of a sweep failed; the others completed and their records were written.

    Attributes
    ----------
    failures : dict of str to str
        Name of each failed run and its error.
    records : SweepRecords
        The sweep's records in the order asked for, ``None`` where a run failed.

    Examples
    --------
    >>> err = SweepError(SweepRecords([None, {"key": "b"}], failed={"run_a": "ValueError: bad"}))
    >>> print(err)
    1 of 2 run(s) failed (the others completed and were written):
      run_a: ValueError: bad
    >>> err.failures
    {'run_a': 'ValueError: bad'}
    """

    def __init__(self, records: SweepRecords):
        self.records, self.failures = records, dict(records.failed)
        lines = [f"{len(self.failures)} of {len(records)} run(s) failed (the others completed and were written):"]
        lines += [f"  {name}: {error}" for name, error in self.failures.items()]
        super().__init__("\n".join(lines))


def check_executor(executor, address=None, workers=None, cpus_per_run=1) -> None:
    """Check how a sweep is to be carried out, before anything runs.

    Parameters
    ----------
    executor : {"local", "ray"}
    address : str, optional
        A Ray cluster's address (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); only
        with ``executor="ray"``.
    workers : int, optional
        >= 1: workers of the local Ray instance started when ``address`` is None; only with
        ``executor="ray"``.
    cpus_per_run : int
        >= 1: CPUs (and torch threads) of each run.

    Examples
    --------
    >>> check_executor("ray", workers=2)
    >>> check_executor("dask")
    Traceback (most recent call last):
    ...
    ValueError: executor must be one of ('local', 'ray'), got 'dask'
    >>> check_executor("ray", workers=0)
    Traceback (most recent call last):
    ...
    ValueError: workers must be an int >= 1, got 0
    >>> check_executor("local", address="auto")
    Traceback (most recent call last):
    ...
    ValueError: address must be None with executor='local' (it names a Ray cluster), got 'auto'
    """
    check_choice("executor", executor, EXECUTORS)
    if address is not None and not isinstance(address, str):
        raise TypeError(f"address must be None or a str such as 'auto' or 'ray://host:10001', got {describe(address)}")
    if workers is not None:
        check_int("workers", workers, ge=1)
    check_int("cpus_per_run", cpus_per_run, ge=1)
    if executor == "local":
        for name, value in (("address", address), ("workers", workers)):
            if value is not None:
                raise ValueError(f"{name} must be None with executor='local' (it names a Ray cluster), got {value!r}")
    elif address is not None and workers is not None:
        raise ValueError(f"workers must be None when address is given (the cluster's machines are its workers), "
                         f"got {workers!r}")


# ------------------------------------------------------------------------------ the worker's side
def default_checkpoint_dir() -> Path:
    """Where a worker keeps its checkpoints when ``checkpoint_dir`` is None: a folder of its
    machine's temporary directory, so a retried task on the same machine resumes.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> default_checkpoint_dir().name
    'watlib-sweep-checkpoints'
    """
    return Path(tempfile.gettempdir()) / "watlib-sweep-checkpoints"


def _task_folder(name: str) -> Path:
    """The temporary folder ``name`` of a task, in this machine's temporary directory."""
    return Path(tempfile.gettempdir()) / name


def _remove_task_folder(name: str) -> None:
    shutil.rmtree(_task_folder(name), ignore_errors=True)


def _train_task(config: TrainConfig, reference: dict | None, threads: int, checkpoint_dir, device, data_root,
                checksums, force: bool, trainer=None, folder: str | None = None) -> dict:
    """A Ray task: train ``config`` in a temporary folder of this machine and return its record.

    ``folder`` is the folder's name, chosen by the driver (one per task, the same for its
    retries): a worker killed mid-run cannot remove it, so the retry of the task empties it first
    and the driver removes it when the task ends, fails or is cancelled (:func:`_run_on_ray`).
    """
    torch.set_num_threads(threads)
    trainer = trainer if trainer is not None else run
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else default_checkpoint_dir()
    folder = folder if folder is not None else f"watlib-sweep-{secrets.token_hex(8)}"
    _remove_task_folder(folder)  # what a killed try of this task left
    tmp = _task_folder(folder)
    tmp.mkdir(parents=True)
    try:
        if reference is not None:  # Forward / Backward, WAT's features cost: the CCE run of the same configuration
            write_record(_record_path(tmp, reference_config(config)), reference)
        return trainer(config, results_dir=tmp, checkpoint_dir=checkpoint_dir, device=device, data_root=data_root,
                       checksums=checksums, progress=False, force=force)
    finally:
        _remove_task_folder(folder)


# ------------------------------------------------------------------------------ the driver's side
def _record_path(results_dir, config) -> Path:
    return record_path(results_dir, config.dataset, config.name())


def _complete_record(path: Path) -> dict | None:
    """The complete record at ``path``, or None (a corrupt one raises CorruptFileError)."""
    if not path.exists():
        return None
    record = read_record(path)
    return check_record(record, path, RECORD_FIELDS) if record.get("complete") else None


def _store(path: Path, config, record: dict, force: bool) -> dict:
    """Write a record a worker returned, under the run's lock; a complete record that another
    process wrote meanwhile wins (as in :func:`watlib.engine.run_cached`)."""
    if not isinstance(record, dict) or not record.get("complete") or record.get("key") != config.key():
        raise RuntimeError(f"the worker returned no complete record of {config.name()}")
    with run_lock(path, progress=False):
        if not force:
            existing = _complete_record(path)
            if existing is not None:
                return existing
        write_record(path, record)
    return record


def _error_text(err: BaseException) -> str:
    cause = getattr(err, "cause", None)  # ray.exceptions.RayTaskError: the task's own exception
    if isinstance(cause, BaseException):
        err = cause
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _label(config) -> str:
    """A run in the progress bar: method, noise and seed, and what sets it apart from a plain
    run of its method (another cost, OT settings other than training's)."""
    extra = [config.cost] if config.cost else []
    preset = ot_preset_name(dataclasses.asdict(config))
    if preset not in (None, "train"):
        extra.append(f"{preset} OT")
    return f"{config.method} p{config.noise:g} s{config.seed}" + (f" ({', '.join(extra)})" if extra else "")


class _Cluster:
    """The Ray instance a sweep runs on: joined or started, and shut down when we started it."""

    def __init__(self, address, workers, cpus_per_run, device):
        import logging

        with needs_extra("sweep", "a sweep on Ray (executor='ray')"):
            import ray

        self.ray, self.started = ray, False
        if not ray.is_initialized():
            if address is None:
                workers = workers if workers is not None else max(1, (os.cpu_count() or 1) // cpus_per_run)
                ray.init(num_cpus=workers * cpus_per_run, include_dashboard=False, logging_level=logging.WARNING)
            else:
                ray.init(address=address, logging_level=logging.WARNING)
            self.started = True
        resources = ray.cluster_resources()
        # a GPU per task where the cluster has GPUs, unless the runs were asked to run elsewhere
        self.gpu = resources.get("GPU", 0) >= 1 and (device is None or torch.device(device).type == "cuda")
        largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0)
        if largest < cpus_per_run:
            self.close()
            raise ValueError(f"cpus_per_run must be at most the CPUs of the cluster's largest machine ({largest:g}), "
                             f"got {cpus_per_run}")
        self.cpus_per_run = cpus_per_run

    def slots(self) -> int:
        """How many runs fit on the cluster now (GPUs, or CPUs / cpus_per_run), at least 1."""
        resources = self.ray.cluster_resources()
        n = resources.get("GPU", 0) if self.gpu else resources.get("CPU", 0) // self.cpus_per_run
        return max(1, int(n))

    def close(self):
        if self.started:
            self.ray.shutdown()
            self.started = False


def run_sweep(configs, *, results_dir=None, checkpoint_dir=None, address: str | None = None,
              workers: int | None = None, cpus_per_run: int = 1, device=None, data_root=None, checksums=None,
              progress: bool = True, force: bool = False, max_retries: int = 3, trainer=None) -> SweepRecords:
    """Train a grid of configurations as Ray tasks, or load their records; the driver writes every record.

    The complete records already in ``results_dir`` are loaded and nothing is submitted for
    them; each of the other runs becomes a Ray task that trains it with
    :func:`watlib.train.run` in a temporary folder of its worker and returns the record,
    which this process writes to ``<results_dir>/<dataset>/<config.name()>.json`` under the
    run's lock (:func:`watlib.records.run_lock`). Forward and Backward are submitted once the
    CCE run of their configuration is recorded (it is trained first when needed, and written
    like the others), and its record is shipped with them.

    Parameters
    ----------
    configs : sequence of TrainConfig
        The runs (see :func:`watlib.train.make_config`); duplicates are trained once.
    results_dir : path, optional
        This machine's results folder (:func:`watlib.records.find_results_dir` by default).
    checkpoint_dir : path, optional
        Where each worker keeps a run's per-epoch checkpoint (a path on the worker's
        machine, or on a file system they share); by default :func:`default_checkpoint_dir`
        of the worker's machine. A task retried after its worker died resumes from it.
    address : str, optional
        A running Ray cluster to join (``"auto"``, ``"ray://host:10001"``). Without it, and
        when Ray is not initialised in this process yet, a local instance is started with
        ``workers * cpus_per_run`` CPUs (and shut down at the end); an instance this
        process already initialised is used as it is.
    workers : int, optional
        >= 1: runs at a time on the local instance (default: the CPU count / ``cpus_per_run``).
    cpus_per_run : int
        >= 1: the CPUs each task asks for and its ``torch.set_num_threads``. Where the
        cluster has GPUs, each task also asks for one GPU (unless ``device`` is not CUDA).
    device : str or torch.device, optional
        Passed to :func:`watlib.train.run` on the worker (default: CUDA where the task got a
        GPU, else the CPU).
    data_root, checksums
        Passed to :func:`watlib.train.run`: the data must be at ``data_root`` on every worker
        (a relative ``data_root`` or ``checkpoint_dir`` is taken from this process's working
        directory).
    progress : bool
        One progress bar over the runs (the running ones named) and the summary at the end.
    force : bool
        Retrain the runs asked for even when records exist.
    max_retries : int
        >= 0: how many times Ray retries a task whose worker died (exceptions raised by the
        training itself are not retried: they are reported).
    trainer : callable, optional
        Called on the workers instead of :func:`watlib.train.run`, with its arguments (tests).

    Returns
    -------
    SweepRecords
        The records in the order of ``configs``, with the names of the runs trained, loaded
        and failed.

    Raises
    ------
    SweepError
        After every other run completed, when some failed (their errors in the message).

    Examples
    --------
    Every argument is checked before Ray starts; an empty sweep starts nothing:

    >>> run_sweep([], progress=False)
    []
    >>> run_sweep([], workers=0)
    Traceback (most recent call last):
    ...
    ValueError: workers must be an int >= 1, got 0
    """
    check_executor("ray", address, workers, cpus_per_run)
    check_int("max_retries", max_retries, ge=0)
    check_bool("progress", progress)
    check_bool("force", force)
    configs = list(configs)
    for i, config in enumerate(configs):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"configs[{i}] must be a TrainConfig (watlib.train.make_config), got {describe(config)}")
    check_device("device", device)  # parsed here; whether it exists is each worker's question
    results_dir = check_folder("results_dir", results_dir if results_dir is not None else find_results_dir())
    # the workers do not share this process's working directory: relative paths are this one's
    data_root, checkpoint_dir = (os.path.abspath(os.path.expanduser(p)) if p is not None else None
                                 for p in (data_root, checkpoint_dir))

    runs = {}  # key -> config, the runs asked for, in order
    for config in configs:
        runs.setdefault(config.key(), config)
    done, names = {}, {k: c.name() for k, c in runs.items()}
    summary = SweepRecords()
    pending = {}  # key -> config: to train
    for key, config in runs.items():
        try:
            record = None if force else _complete_record(_record_path(results_dir, config))
        except CorruptFileError as err:
            summary.failed[names[key]] = _error_text(err)
            continue
        if record is not None:
            done[key] = record
            summary.loaded.append(names[key])
        else:
            pending[key] = config

    # Forward / Backward and WAT with the features cost: ship a recorded CCE run, or train it first.
    shipped, waiting, extra = {}, {}, {}
    for key, config in list(pending.items()):
        cce = reference_config(config)
        if cce is None:
            continue
        ref = cce.key()
        if ref in pending or ref in extra:
            waiting.setdefault(ref, []).append(key)
            continue
        try:
            record = done.get(ref) or _complete_record(_record_path(results_dir, cce))
        except CorruptFileError as err:
            record, summary.failed[names[key]] = None, f"its CCE reference run is unreadable: {_error_text(err)}"
            del pending[key]
            continue
        if record is not None:
            shipped[key] = record
        else:
            extra[ref] = cce
            names[ref] = cce.name()
            waiting.setdefault(ref, []).append(key)
    pending = {**extra, **pending}
    ready = [k for k in pending if k in waiting] + [k for k in pending if k not in waiting and
                                                    not any(k in ds for ds in waiting.values())]

    if pending:
        _run_on_ray(pending, ready, waiting, shipped, done, names, summary, results_dir,
                    dict(address=address, workers=workers, cpus_per_run=cpus_per_run, checkpoint_dir=checkpoint_dir,
                         device=device, data_root=data_root, checksums=checksums, force=force,
                         max_retries=max_retries, trainer=trainer),
                    total=len(runs) + len(extra), progress=progress)
    records = SweepRecords([done.get(c.key()) for c in configs], summary.trained, summary.loaded, summary.failed)
    if progress:
        print(records.summary(), flush=True)
    if records.failed:
        raise SweepError(records)
    return records


def _run_on_ray(pending, ready, waiting, shipped, done, names, summary, results_dir, options, total, progress):
    """Submit the ready runs, as many at a time as the cluster holds, until every one is done or failed."""
    cluster = _Cluster(options["address"], options["workers"], options["cpus_per_run"], options["device"])
    ray = cluster.ray
    task = ray.remote(_train_task).options(num_cpus=options["cpus_per_run"], num_gpus=1 if cluster.gpu else 0,
                                           max_retries=options["max_retries"], retry_exceptions=False)
    in_flight = {}  # ObjectRef -> key
    sweep = secrets.token_hex(4)  # names the tasks' temporary folders (_train_task), removed here when they end

    def folder(key):
        return f"watlib-sweep-{sweep}-{key}"
    bar = tqdm(total=total, initial=total - len(pending), desc="sweep", unit="run", disable=not progress,
               file=sys.stderr)

    def fail(key, error):
        summary.failed[names[key]] = error
        bar.update(1)
        for dependent in waiting.pop(key, []):
            fail(dependent, f"its CCE reference run {names[key]} failed")

    try:
        while ready or in_flight:
            slots = cluster.slots() if ready else 0
            while ready and len(in_flight) < slots:
                key = ready.pop(0)
                config = pending[key]
                ref = task.remote(config, shipped.get(key), options["cpus_per_run"], options["checkpoint_dir"],
                                  options["device"], options["data_root"], options["checksums"], options["force"],
                                  options["trainer"], folder(key))
                in_flight[ref] = key
            bar.set_postfix_str("running: " + ", ".join(_label(pending[k]) for k in in_flight.values()), refresh=True)
            finished, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in finished:
                key = in_flight.pop(ref)
                _remove_task_folder(folder(key))  # left by a worker killed on this machine, if any
                config = pending[key]
                try:
                    record = _store(_record_path(results_dir, config), config, ray.get(ref), options["force"])
                except Exception as err:  # the run's own error, or its worker's death after the retries
                    fail(key, _error_text(err))
                    continue
                done[key] = record
                summary.trained.append(names[key])
                bar.update(1)
                for dependent in waiting.pop(key, []):
                    shipped[dependent] = record
                    ready.insert(0, dependent)
    finally:
        for ref in in_flight:  # interrupted: do not leave runs training for nobody
            ray.cancel(ref, force=True)
        if in_flight:  # the cancelled workers die before their folders go
            ray.wait(list(in_flight), num_returns=len(in_flight), timeout=10.0)
        for key in in_flight.values():
            _remove_task_folder(folder(key))
        bar.set_postfix_str("")
        bar.close()
        cluster.close()


def run_many(dataset: str, noise, methods, seeds=(0,), preset: str = "auto", results_dir=None,
             device=None, data_root=None, checksums=None, progress: bool = True, executor: str = "local",
             address: str | None = None, workers: int | None = None, cpus_per_run: int = 1, checkpoint_dir=None,
             **overrides) -> list[dict]:
    """:func:`watlib.train.run` for every (method, seed, noise), cached runs loaded, one after the other or
    as Ray tasks.

    Every configuration is built (and so checked), and so are the executor's settings,
    before the first run starts.

    Parameters
    ----------
    dataset, preset, **overrides
        See :func:`watlib.train.make_config`; ``cost`` and ``cost_scale`` apply to the WAT
        methods only (:func:`watlib.train.grid_configs`).
    noise : float or sequence of float
        One noise rate, or several (a run per rate).
    methods : sequence of str
        Methods of :data:`watlib.methods.METHODS`.
    seeds : sequence of int
    results_dir, device, data_root, checksums, checkpoint_dir
        See :func:`watlib.train.run`.
    progress : bool
        A progress bar over the runs (and, locally, one per epoch).
    executor : {"local", "ray"}
        ``local``: the runs one after the other in this process. ``ray``: the runs as Ray
        tasks (:func:`run_sweep`): the workers train and this process writes
        the records into ``results_dir``; failed runs are reported together at the end
        (:class:`SweepError`) after the others completed.
    address : str, optional
        With ``executor="ray"``: the Ray cluster to join (``"auto"``, ``"ray://host:10001"``);
        without it a local Ray instance is started.
    workers : int, optional
        With ``executor="ray"`` and no ``address``: runs at a time on the local instance
        (default: the CPU count / ``cpus_per_run``).
    cpus_per_run : int
        With ``executor="ray"``: CPUs per task and its ``torch.set_num_threads`` (tasks also
        ask for one GPU where the cluster has GPUs). Ignored locally, where the runs use this
        process's threads.

    Returns
    -------
    list of dict
        The run records, in the order methods x seeds x noise rates (with ``executor="ray"``
        a :class:`SweepRecords`, which also names the runs trained and loaded).

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     recs = run_many("cifar10", 0.4, ["cce", "bootsoft"], seeds=[0], preset="smoke", results_dir=tmp,
    ...                     data_root=tmp, checksums=sums, progress=False, train_size=20, test_size=20,
    ...                     batch_size=10, epochs=1)
    >>> [r["config"]["method"] for r in recs]
    ['cce', 'bootsoft']
    >>> run_many("cifar10", 0.4, ["cce"], executor="ray", workers=0)
    Traceback (most recent call last):
    ...
    ValueError: workers must be an int >= 1, got 0
    """
    noises = [noise] if isinstance(noise, (str, bytes, numbers.Real)) or not hasattr(noise, "__iter__") else list(noise)
    if not noises:
        raise ValueError("noise must be a rate or a non-empty sequence of rates, got an empty sequence")
    configs = grid_configs(dataset, noises, methods, seeds, preset=preset, **overrides)
    return run_configs(configs, results_dir=results_dir, checkpoint_dir=checkpoint_dir, device=device,
                       data_root=data_root, checksums=checksums, progress=progress, executor=executor,
                       address=address, workers=workers, cpus_per_run=cpus_per_run, desc=f"{dataset} runs")


def run_configs(configs, *, results_dir=None, checkpoint_dir=None, device=None, data_root=None, checksums=None,
                progress: bool = True, force: bool = False, executor: str = "local", address: str | None = None,
                workers: int | None = None, cpus_per_run: int = 1, desc: str = "runs") -> list[dict]:
    """Train, or load, configurations: one after the other in this process, or as Ray tasks.

    What :func:`run_many` and ``python -m watlib train`` do once their configurations are
    built: with ``executor="local"`` each configuration is :func:`watlib.train.run` in turn
    under a progress bar over the runs; with ``executor="ray"`` they are :func:`run_sweep`'s.

    Parameters
    ----------
    configs : sequence of TrainConfig
    results_dir, checkpoint_dir, device, data_root, checksums, progress, force
        See :func:`watlib.train.run`.
    executor, address, workers, cpus_per_run
        See :func:`run_many` (checked by :func:`check_executor` before any run starts).
    desc : str
        The label of the progress bar over the runs (locally).

    Returns
    -------
    list of dict
        The records, in the order of ``configs`` (a :class:`SweepRecords` with ``executor="ray"``).

    Examples
    --------
    >>> run_configs([], executor="local")
    []
    """
    check_executor(executor, address, workers, cpus_per_run)
    if executor == "ray":
        return run_sweep(configs, results_dir=results_dir, checkpoint_dir=checkpoint_dir, address=address,
                         workers=workers, cpus_per_run=cpus_per_run, device=device, data_root=data_root,
                         checksums=checksums, progress=progress, force=force)
    records = []
    bar = tqdm(configs, desc=desc, disable=not progress)
    for config in bar:
        bar.set_postfix(method=config.method, seed=config.seed, noise=config.noise)
        records.append(run(config, results_dir=results_dir, checkpoint_dir=checkpoint_dir, device=device,
                           data_root=data_root, checksums=checksums, progress=progress, force=force))
    return records
