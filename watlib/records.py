r"""Run records: what they hold, how they are written and read, what made them, how they
migrate and how they are checked.

A run record is the JSON file :func:`watlib.engine.run_cached` writes when a run completes
(``<results_dir>/<data set>/<config.name()>.json``). This module holds everything about
records that is not the training itself:

* the **cache key** (:func:`config_key`): a hash of the configuration together with its
  class's schema version (``SCHEMA``), so adding a field to a configuration is a deliberate
  migration (:func:`migrate_records`), not a silent orphaning of every record;
* **provenance** (:func:`provenance`): the git commit of the code that made the record and
  whether the package differed from it, the versions, the thread count and the device;
* **atomic files** (:func:`atomic_write`, :func:`write_record`, :func:`read_record`): a
  per-process temporary name renamed into place, and a :class:`CorruptFileError` that names
  a truncated file and the way out (``--force``);
* :func:`config_from_record`, :func:`migrate_records` and :func:`verify_record`, which
  reruns the first epochs of a record's configuration and compares them with its history
  (``python -m watlib verify RECORD``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import json
import os
import pickle
import platform
import secrets
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "CorruptFileError",
    "config_key",
    "device_name",
    "cpu_name",
    "provenance",
    "atomic_write",
    "read_record",
    "write_record",
    "read_arrays",
    "write_arrays",
    "config_from_record",
    "migrate_records",
    "verify_record",
]

#: Where each kind of experiment is defined: module, configuration class, run function.
_EXPERIMENTS = {
    "classification": ("watlib.train", "TrainConfig", "run"),
    "segmentation": ("watlib.train_segmentation", "SegmentationConfig", "run_segmentation"),
}

#: Record fields that :func:`verify_record` compares, epoch by epoch.
_VERIFIED = ("train_loss", "test_acc", "val_oa", "val_avg_f1")


class CorruptFileError(ValueError):
    """A record, array file or checkpoint that cannot be read (often: truncated by a killed write).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "run.json"
    ...     _ = path.write_text('{"config": {"dataset": ')
    ...     try:
    ...         read_record(path)
    ...     except CorruptFileError as err:
    ...         print("--force" in str(err), str(path) in str(err))
    True True
    """

    @classmethod
    def of(cls, path, what: str, err: Exception) -> CorruptFileError:
        """The error for ``path``, a ``what`` (run record, checkpoint...) that ``err`` could not read."""
        return cls(f"{path} is not a readable {what} ({type(err).__name__}: {err}); it was probably cut short "
                   "by an interrupted write: delete it, or rerun with --force (force=True) to retrain the run")


def device_name(device) -> str:
    """How a record names a device: the GPU's model, or the CPU and the thread count.

    Parameters
    ----------
    device : torch.device

    Returns
    -------
    str

    Examples
    --------
    >>> device_name(torch.device("cpu")).startswith("cpu: ")
    True
    """
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"{device.type}: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


# ------------------------------------------------------------------------------ keys, provenance
def config_key(config) -> str:
    """A short hash of a configuration dataclass and its class's schema version: the cache key.

    Parameters
    ----------
    config : dataclass instance
        Its class may define ``SCHEMA`` (an int, 1 when absent): bump it when a field is
        added or its meaning changes, and add the step to :func:`migrate_records`.

    Returns
    -------
    str
        12 hexadecimal characters.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Config:
    ...     lr: float = 1e-3
    >>> config_key(Config()) == config_key(Config(lr=1e-3)) != config_key(Config(lr=1e-4))
    True
    """
    blob = json.dumps({"schema": getattr(type(config), "SCHEMA", 1), "config": dataclasses.asdict(config)},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _versions() -> dict:
    import scipy

    from . import __version__

    return {"watlib": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple:
    """(commit, dirty) of the checkout holding this package, or (None, None) outside git.

    ``dirty`` is True when any file of the package (``watlib/``) differs from the commit,
    untracked files included: those are the files that decide what a run computes. Cached
    for the process: the code a process runs is the code it imported.
    """
    package = Path(__file__).resolve().parent

    def git(*args):
        out = subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True, timeout=30)
        if out.returncode:
            raise RuntimeError(out.stderr)
        return out.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", "."))
    except (OSError, RuntimeError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


@functools.lru_cache(maxsize=1)
def _source_hash() -> str:
    """A hash of the package's Python sources (paths and contents): the code, committed or not."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU a run's kernels ran on: its model, the vector instructions PyTorch uses and a
    hash of the instruction-set flags.

    Two CPUs of one name can still differ in the instructions the kernels of oneDNN and MKL
    pick (AVX-512, AMX...), and those change the last bits of a convolution: a record is
    only expected to be reproduced bit for bit on a CPU of the same ``cpu_name``.

    >>> cpu_name().count(", ") >= 2
    True
    """
    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())  # the first CPU's
    except OSError:
        pass
    model = info.get("model name") or platform.processor() or platform.machine()
    flags = " ".join(sorted(info.get("flags", "").split()))
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{model}, {capability}, flags {hashlib.sha256(flags.encode()).hexdigest()[:8]}"


def provenance(device=None) -> dict:
    """What made a record: code version, environment, threads and device.

    Parameters
    ----------
    device : str or torch.device, optional
        The device of the run (default: the CPU).

    Returns
    -------
    dict
        ``commit`` (the git commit of the checkout that holds ``watlib``, None outside
        git), ``dirty`` (True when the package's files differed from that commit),
        ``source`` (a hash of the package's Python files as they were: two records with the
        same source ran the same code, committed or not), ``threads``
        (``torch.get_num_threads()``), ``device``, ``cpu`` (:func:`cpu_name`: which CPU the
        host is, whatever the device) and ``versions`` (watlib, torch, numpy, scipy, Python). The commit, dirtiness and source are read once per process: the code
        a process runs is the code it imported.

    Examples
    --------
    >>> p = provenance("cpu")
    >>> sorted(p)
    ['commit', 'cpu', 'device', 'dirty', 'source', 'threads', 'versions']
    >>> p["threads"] == torch.get_num_threads()
    True
    """
    commit, dirty = _git_state()
    return {"commit": commit, "dirty": dirty, "source": _source_hash(), "threads": torch.get_num_threads(),
            "device": device_name(torch.device(device) if device is not None else torch.device("cpu")),
            "cpu": cpu_name(), "versions": _versions()}


# ------------------------------------------------------------------------------ files
def atomic_write(path: str | os.PathLike, write: Callable) -> Path:
    """Write a file through a per-process temporary name, then rename it into place.

    Readers see the old file or the new one, never a part; two processes writing the same
    path never share a temporary file.

    Parameters
    ----------
    path : path
    write : callable
        ``write(fileobj)`` writes the content to a binary file object.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = atomic_write(Path(tmp) / "a" / "x.txt", lambda f: f.write(b"hello"))
    ...     p.read_text(), sorted(q.name for q in p.parent.iterdir())
    ('hello', ['x.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_record(path: str | os.PathLike) -> dict:
    """A JSON run record; a truncated or unreadable one raises :class:`CorruptFileError`.

    Parameters
    ----------
    path : path

    Returns
    -------
    dict

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_record(Path(tmp) / "r.json", {"complete": True})
    ...     read_record(p)
    {'complete': True}
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise CorruptFileError.of(path, "run record", err) from None
    if not isinstance(record, dict):
        raise CorruptFileError.of(path, "run record", TypeError(f"a JSON {type(record).__name__}, not an object"))
    return record


def write_record(path: str | os.PathLike, record: dict) -> Path:
    """Write a run record as JSON, atomically (:func:`atomic_write`).

    Parameters
    ----------
    path : path
    record : dict
        JSON-serialisable.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_record(Path(tmp) / "r.json", {"a": [1, 2]}).read_text()
    '{\\n "a": [\\n  1,\\n  2\\n ]\\n}'
    """
    text = json.dumps(record, indent=1)
    return atomic_write(path, lambda fh: fh.write(text.encode()))


def read_arrays(path) -> dict:
    """The arrays of an ``.npz`` file beside a record; a missing or truncated one raises
    :class:`CorruptFileError`.

    Parameters
    ----------
    path : path

    Returns
    -------
    dict of numpy.ndarray

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_arrays(Path(tmp) / "r.npz", {"prediction": np.eye(2)})
    ...     read_arrays(Path(tmp) / "r.npz")["prediction"].shape
    (2, 2)
    """
    path = Path(path)
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise CorruptFileError(f"{path} is missing but its record names arrays in it: delete the record, or "
                               "rerun with --force (force=True) to retrain the run") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as err:
        raise CorruptFileError.of(path, "array file", err) from None


def write_arrays(path, arrays: dict) -> None:
    """Write arrays to an ``.npz`` file, atomically (:func:`atomic_write`).

    Parameters
    ----------
    path : path
    arrays : dict of array_like

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_arrays(Path(tmp) / "r.npz", {})
    ...     sorted(p.name for p in Path(tmp).iterdir())
    ['r.npz']
    """
    def write(fh):
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        fh.write(buf.getvalue())

    atomic_write(path, write)


# ------------------------------------------------------------------------------ records
def _experiment(kind: str):
    if kind not in _EXPERIMENTS:
        raise ValueError(f"record kind must be one of {tuple(_EXPERIMENTS)}, got {kind!r}")
    module, config_class, run = _EXPERIMENTS[kind]
    mod = importlib.import_module(module)
    return getattr(mod, config_class), getattr(mod, run)


def _kind_of(record: dict) -> str:
    if "kind" in record:
        return record["kind"]
    return "segmentation" if "patch" in record.get("config", {}) else "classification"


def config_from_record(record: dict):
    """The configuration object (``TrainConfig``, ``SegmentationConfig``) of a run record.

    Parameters
    ----------
    record : dict
        A record of the current schema (see :func:`migrate_records` for older ones).

    Returns
    -------
    TrainConfig or SegmentationConfig
        Its ``key()`` equals the record's ``key``.

    Examples
    --------
    >>> from watlib.train import make_config
    >>> config = make_config("fashion_mnist", 0.4, "watc", preset="cpu")
    >>> config_from_record({"kind": "classification", "config": dataclasses.asdict(config)}) == config
    True
    """
    config_class, _ = _experiment(_kind_of(record))
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = set(record["config"]) - fields
    if unknown:
        raise ValueError(f"the record's configuration has fields {sorted(unknown)} that {config_class.__name__} "
                         "does not know: it was made by another version of watlib")
    return config_class(**record["config"])


#: Migration steps: ``_MIGRATIONS[kind][n]`` turns a record of schema n into one of schema n + 1.
def _to_schema_2(record: dict) -> dict:
    """Schema 2 adds the solver settings of the regularizer (the values every earlier run used:
    ``ot_loss``'s defaults then, 100 iterations, tol 1e-6, unrolled gradients) and provenance."""
    record["config"].update(max_iter=100, tol=1e-6, grad="unrolled")
    threads = None
    device = record.get("device") or ""
    if "threads" in device:
        threads = int(device.rsplit(",", 1)[1].split()[0])
    record["provenance"] = {
        "commit": None, "dirty": None, "threads": threads, "device": record.get("device"),
        "versions": record.get("versions"),
        "note": "made before watlib recorded provenance: the commit that made it is unknown",
    }
    return record


def _to_schema_3(record: dict) -> dict:
    """Classification schema 3 adds WAT's ground cost as a run setting (``cost``, ``cost_scale``),
    so that a cost ablation is a configuration, not a new method per cost. Every earlier run used
    its method's own cost as built (the 0-1 cost for wat01, the word-vector exp(-m) cost for
    watc, none for the others), which is what ``cost=None, cost_scale=None`` reproduce."""
    record["config"].update(cost=None, cost_scale=None)
    return record


def _to_schema_4(record: dict) -> dict:
    """Classification schema 4 adds the baselines' protocol settings. ``val_size``: the CCE run
    now selects the model of its transition estimate on a noisy validation split (Patrini et
    al.); every earlier CCE run estimated T from its final model, with no split, which is
    ``val_size=0`` (set for cce, forward and backward, the methods it applies to). ``init_epoch``:
    D2L now waits ``init_epoch + window`` epochs before its turning-point test (Ma et al.);
    every earlier D2L run tested from the first window, which is ``init_epoch=0`` (set for
    d2l). The other methods keep None for both (neither applies to them)."""
    method = record["config"].get("method")
    record["config"].update(val_size=0 if method in ("cce", "forward", "backward") else None,
                            init_epoch=0 if method == "d2l" else None)
    return record


def _add_ot_solver(record: dict) -> dict:
    """Classification schema 5 (segmentation schema 3) adds the solver of WAT's OT loss
    (``ot_solver``). Every earlier run solved it with Sinkhorn's iterations, the only solver
    then: ``ot_solver="sinkhorn"``, with the ``max_iter``, ``tol`` and ``grad`` it recorded."""
    record["config"].update(ot_solver="sinkhorn")
    return record


def _to_schema_6(record: dict) -> dict:
    """Classification schema 6 keeps the OT solver's settings (``ot_solver``, ``max_iter``, ``tol``,
    ``grad``) only for the methods that solve OT problems, ``wat01`` and ``watc``; the others
    never used them, and now hold None, so that a change of training's solver default does not
    change their keys (their runs are the same runs)."""
    if record["config"].get("method") not in ("wat01", "watc"):
        record["config"].update(ot_solver=None, max_iter=None, tol=None, grad=None)
    return record


_MIGRATIONS = {"classification": {1: _to_schema_2, 2: _to_schema_3, 3: _to_schema_4, 4: _add_ot_solver,
                                  5: _to_schema_6},
               "segmentation": {1: _to_schema_2, 2: _add_ot_solver}}


def migrate_records(results_dir=None, dry_run: bool = False) -> list[tuple[Path, Path]]:
    """Bring every record under ``results_dir`` to the current schema of its configuration.

    Each migration step fills the fields a schema added with the values the old runs
    actually used, records the step's note, recomputes the key, and renames the record
    (and its array file) to the new name. Nothing else of a record changes.

    Parameters
    ----------
    results_dir : path, optional
        :func:`watlib.engine.find_results_dir` by default.
    dry_run : bool
        Only list what would be renamed.

    Returns
    -------
    list of (old path, new path)

    Examples
    --------
    >>> import tempfile
    >>> from watlib.train import make_config
    >>> solver = dict(ot_solver="sinkhorn", max_iter=100, tol=1e-6, grad="unrolled")  # what schema 1 used
    >>> config = dataclasses.asdict(make_config("fashion_mnist", 0.4, "wat01", preset="cpu", **solver))
    >>> old = {k: v for k, v in config.items() if k not in solver}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_record(Path(tmp) / "fashion_mnist" / "fashion_mnist_wat01_noise0.4_seed0_abc.json",
    ...                      {"config": old, "key": "abc", "complete": True, "device": "cpu: x86_64, 2 threads"})
    ...     [(a.name, b.name == make_config("fashion_mnist", 0.4, "wat01", preset="cpu", **solver).name() + ".json")
    ...      for a, b in migrate_records(tmp)]
    [('fashion_mnist_wat01_noise0.4_seed0_abc.json', True)]
    """
    from .engine import find_results_dir

    results_dir = Path(results_dir) if results_dir is not None else find_results_dir()
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results_dir {str(results_dir)!r} is not a folder")
    moved = []
    for path in sorted(results_dir.glob("*/*.json")):
        record = read_record(path)
        if "config" not in record:
            continue
        kind = _kind_of(record)
        config_class, _ = _experiment(kind)
        target = getattr(config_class, "SCHEMA", 1)
        schema = record.get("schema", 1)
        if schema >= target:
            continue
        while schema < target:
            record = _MIGRATIONS[kind][schema](record)
            schema += 1
        record["schema"], record["kind"] = schema, kind
        config = config_from_record(record)
        record["key"] = config.key()
        record["config"] = json.loads(json.dumps(dataclasses.asdict(config)))
        new = path.with_name(f"{config.name()}.json")
        moved.append((path, new))
        if dry_run:
            continue
        old_npz, new_npz = path.with_suffix(".npz"), new.with_suffix(".npz")
        if old_npz.exists():
            record["arrays"] = sorted(read_arrays(old_npz))
            os.replace(old_npz, new_npz)
        write_record(new, record)
        if new != path:
            path.unlink()
    return moved


def verify_record(record_path, epochs: int = 2, *, results_dir=None, device=None, threads: int | None = None,
                  progress: bool = False, **run_kwargs) -> dict:
    """Rerun the first epochs of a record's configuration and compare them with its history.

    The rerun trains in a temporary folder (nothing is cached or overwritten) with the
    thread count the record was made with (unless ``threads`` is given). Loss and accuracy
    are compared exactly: they are expected to match bit for bit when the code (the source
    hash of :func:`provenance`), the device, the CPU (:func:`cpu_name`) and the thread count
    are those of the record,
    and only approximately otherwise.

    Parameters
    ----------
    record_path : path
        A JSON run record.
    epochs : int
        How many of the first epochs to rerun (>= 1).
    results_dir : path, optional
        Where the reference runs of Forward / Backward are found
        (:func:`watlib.engine.find_results_dir`); the rerun itself is never written there.
    device : str or torch.device, optional
    threads : int, optional
        ``torch.set_num_threads`` for the rerun (default: the record's thread count).
    progress : bool
    **run_kwargs
        Passed to the experiment's run function (``data_root``, ``checksums``...).

    Returns
    -------
    dict
        ``match`` (every compared value equal), ``exact_expected`` (the same code, by the
        source hash, on the same device with the same thread count), ``epochs`` (one dict per epoch: for each compared
        quantity, ``(recorded, rerun)``), ``differences`` (what differs between the
        record's provenance and the rerun's) and ``mismatches`` (a list of
        ``(epoch, quantity, recorded, rerun)``).

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> from watlib.train import make_config, run
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     cfg = make_config("cifar10", 0.4, "cce", preset="smoke", train_size=20, test_size=20, batch_size=10)
    ...     rec = run(cfg, results_dir=tmp, data_root=tmp, checksums=sums, progress=False)
    ...     path = Path(tmp) / "cifar10" / f"{cfg.name()}.json"
    ...     report = verify_record(path, epochs=1, data_root=tmp, checksums=sums)
    >>> report["match"], report["mismatches"]
    (True, [])
    """
    from ._checks import check_int

    epochs = check_int("epochs", epochs, ge=1)
    record_path = Path(record_path)
    record = read_record(record_path)
    kind = _kind_of(record)
    config = config_from_record(record)
    _, run = _experiment(kind)
    recorded = record.get("provenance") or {}
    old_threads = torch.get_num_threads()
    threads = threads if threads is not None else recorded.get("threads") or old_threads
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rerun = _rerun(run, config, kind, tmp, results_dir, min(epochs, config.epochs), device, progress,
                           run_kwargs)
    finally:
        torch.set_num_threads(old_threads)
    now = rerun["provenance"]
    differences = {k: (recorded.get(k), now.get(k)) for k in ("source", "commit", "dirty", "threads", "device", "cpu")
                   if recorded.get(k) != now.get(k)}
    exact = not {"source", "threads", "device", "cpu"} & set(differences)
    rows, mismatches = [], []
    for i in range(len(rerun["history"]["epoch"])):
        row = {"epoch": i + 1}
        for q in _VERIFIED:
            if q in rerun["history"] and q in record["history"] and i < len(record["history"][q]):
                a, b = record["history"][q][i], rerun["history"][q][i]
                row[q] = (a, b)
                if a != b:
                    mismatches.append((i + 1, q, a, b))
        rows.append(row)
    return {"match": not mismatches, "exact_expected": exact, "epochs": rows,
            "differences": differences, "mismatches": mismatches, "record": str(record_path)}


def _rerun(run, config, kind, tmp, results_dir, epochs, device, progress, run_kwargs):
    """The first ``epochs`` of ``config`` trained in ``tmp``, with any reference runs it needs
    (Forward / Backward's CCE run) read from ``results_dir``."""
    if kind == "classification":
        from .engine import find_results_dir

        reference = results_dir if results_dir is not None else find_results_dir()
        run_kwargs = {"reference_dir": reference, **run_kwargs}
    return run(config, results_dir=tmp, device=device, progress=progress, force=True, stop_after=epochs,
               **run_kwargs)
