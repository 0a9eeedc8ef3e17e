r"""The record store: where run records live, how they are named, written, read and locked,
and what made them.

A run record is the JSON file :func:`watlib.engine.run_cached` writes when a run completes,
at :func:`record_path` (``<results_dir>/<data set>/<config.name()>.json``) under
:func:`find_results_dir`. This module holds everything about records that is not the
training itself, and imports no other module of watlib but its checks:

* **the store's places** (:func:`find_results_dir`, :func:`record_path`) and the lock of
  one run (:func:`run_lock`);
* the **cache key** (:func:`config_key`): a hash of the configuration together with its
  class's schema version (``SCHEMA``), so adding a field to a configuration is a deliberate
  migration (:func:`watlib.audit.migrate_records`), not a silent orphaning of every record;
* **provenance** (:func:`provenance`): the git commit of the code that made the record and
  whether the package differed from it, the versions, the thread count and the device;
* **atomic files** (:func:`atomic_write`, :func:`write_record`, :func:`read_record`): a
  per-process temporary name renamed into place, and a :class:`CorruptFileError` that names
  a truncated file and the way out (``--force``);
* one reader (:func:`read_record`) with one error type for a file that is not a record.

Checking a record by rerunning it, and migrating old records, need the configurations:
they are :mod:`watlib.audit`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import io
import json
import os
import pickle
import platform
import secrets
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

__all__ = [
    "CorruptFileError",
    "config_key",
    "device_name",
    "cpu_name",
    "provenance",
    "source_changes",
    "atomic_write",
    "read_record",
    "check_record",
    "write_record",
    "read_arrays",
    "write_arrays",
    "find_results_dir",
    "record_path",
    "run_lock",
]

# ------------------------------------------------------------------------------ the store's places
def find_results_dir(start: str | os.PathLike | None = None) -> Path:
    """Where run records live: ``$WATLIB_RESULTS``, else ``results/`` at the project root.

    The project root is the first folder at or above ``start`` (default: the working
    directory) holding ``_toc.yml`` (the book), so chapters executed from ``book/`` and
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


def record_path(results_dir: str | os.PathLike, folder: str, name: str) -> Path:
    """Where the record of a run is kept: ``<results_dir>/<folder>/<name>.json``.

    The one place that joins a record's path: a run's folder is its data set (its
    configuration's ``dataset``, or ``vaihingen``), its name the configuration's ``name()``.

    Parameters
    ----------
    results_dir : path
        The store (:func:`find_results_dir`).
    folder, name : str

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> record_path("results", "fashion_mnist", "fashion_mnist_cce_noise0.4_seed0_abc").as_posix()
    'results/fashion_mnist/fashion_mnist_cce_noise0.4_seed0_abc.json'
    """
    return Path(results_dir) / folder / f"{name}.json"


@contextlib.contextmanager
def run_lock(record_path: str | os.PathLike, progress: bool = True):
    """Hold the lock of one run: a second process asking for it waits until the first is done.

    The lock is an exclusive ``flock`` on a hidden file beside the record,
    ``.<name>.lock``; the operating system releases it when the holder exits, so a killed
    run never leaves a stale lock (the empty file stays; git ignores it).

    Parameters
    ----------
    record_path : path
        The run's record (it need not exist).
    progress : bool
        Say so when waiting for another process.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with run_lock(Path(tmp) / "x.json"):
    ...         (Path(tmp) / ".x.lock").exists()
    True
    """
    record_path = Path(record_path)
    lock_path = record_path.with_name(f".{record_path.stem}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress:
                tqdm.write(f"waiting for another process that is training {record_path.stem} ({lock_path})")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield lock_path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
        added or its meaning changes, and add the step to :func:`watlib.audit.migrate_records`.

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

    from ._version import __version__

    return {"watlib": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple:
    """(commit, dirty) of the checkout holding this package, or (None, None) outside git.

    ``dirty`` is True when any file of the package (``watlib/``) differs from the commit,
    untracked files included: those are the files that decide what a run computes. Cached
    for the process: the code a process runs is the code it imported.
    """
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--", "."))
    except (OSError, RuntimeError, subprocess.SubprocessError):
        return None, None
    return commit, dirty


def _git(*args) -> str:
    """The output of ``git args`` run in the package's folder (RuntimeError when git fails)."""
    package = Path(__file__).resolve().parent
    out = subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True, timeout=30)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


def source_changes(commit) -> list[str] | None:
    """The Python files of the package (those :func:`provenance`'s ``source`` hashes) that differ
    now from ``commit``: changed since, edited, added or untracked; None when git cannot tell.

    What :func:`watlib.audit.verify_record` reports when a record's source hash is not the
    code's: the hash says only *that* the code differs, this says *where* (a docstring edit
    and a changed loss look the same to the hash).

    Parameters
    ----------
    commit : str or None
        A commit of the checkout holding ``watlib`` (a record's ``provenance["commit"]``).

    Returns
    -------
    list of str or None
        Paths from the checkout's root (``watlib/ot.py``...), sorted; None without a commit,
        outside a git checkout, or for a commit it does not hold.

    Examples
    --------
    >>> source_changes(None) is None
    True
    >>> source_changes("0" * 40) is None  # no such commit
    True
    """
    if not isinstance(commit, str) or not commit:
        return None
    try:
        changed = _git("diff", "--name-only", commit, "--", ".").splitlines()
        changed += _git("ls-files", "--others", "--exclude-standard", "--full-name", "--", ".").splitlines()
    except (OSError, RuntimeError, subprocess.SubprocessError):
        return None
    return sorted({p for p in changed if p.endswith(".py")})


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
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no such file"
        raise ValueError(f"a run record must be an existing JSON file, got {str(path)!r} ({what})")
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise CorruptFileError.of(path, "run record", err) from None
    if not isinstance(record, dict):
        raise CorruptFileError.of(path, "run record", TypeError(f"a JSON {type(record).__name__}, not an object"))
    return record


def check_record(record: dict, source, fields=("config", "history")) -> dict:
    """``record`` when it holds every one of ``fields``, else a :class:`CorruptFileError` naming
    ``source`` (a file, ``records[3]``...) and the first field it lacks.

    Parameters
    ----------
    record : dict
    source : str or path
        What the record is, for the message.
    fields : sequence of str
        Dotted paths: ``"config.dataset"`` is ``record["config"]["dataset"]``.

    Returns
    -------
    dict

    Examples
    --------
    >>> check_record({"config": {"dataset": "cifar10"}, "history": {}}, "r.json", ("config.dataset", "history"))
    {'config': {'dataset': 'cifar10'}, 'history': {}}
    >>> check_record({"foo": 1}, "records[0]")
    Traceback (most recent call last):
    ...
    watlib.records.CorruptFileError: records[0] is not a watlib run record: it has no 'config' (its fields: ['foo'])
    """
    if not isinstance(record, dict):
        raise CorruptFileError(f"{source} is not a watlib run record: a {type(record).__name__}, not a dict")
    for field in fields:
        node = record
        for part in field.split("."):
            if not isinstance(node, dict) or part not in node:
                raise CorruptFileError(f"{source} is not a watlib run record: it has no {field!r} "
                                       f"(its fields: {sorted(record)})")
            node = node[part]
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

