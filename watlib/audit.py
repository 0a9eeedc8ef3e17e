r"""Auditing the record store: the configuration a record holds, old records brought to the
current schema, and a record checked by rerunning its first epochs.

These need the experiments' configuration classes and run functions
(:mod:`watlib.train`, :mod:`watlib.train_segmentation`), so they live above them; the store
itself (paths, atomic files, provenance) is :mod:`watlib.records`, which imports no
experiment.

* :func:`config_from_record`: the ``TrainConfig`` or ``SegmentationConfig`` of a record;
* :func:`migrate_records`: every record of a results folder at its configuration's current
  schema (``python -m watlib migrate``), each step filling the fields a schema added with the
  values the old runs used;
* :func:`verify_record`: reruns the first epochs of a record's configuration and compares
  them with its history (``python -m watlib verify RECORD``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import torch

from ._checks import check_int
from .records import check_record, find_results_dir, read_arrays, read_record, record_path, source_changes, write_record
from .train import TrainConfig, run
from .train_segmentation import SegmentationConfig, run_segmentation

__all__ = ["config_from_record", "migrate_records", "read_verifiable", "verify_record"]

#: Where each kind of experiment is defined: its configuration class and run function.
_EXPERIMENTS = {
    "classification": (TrainConfig, run),
    "segmentation": (SegmentationConfig, run_segmentation),
}

#: Record fields that :func:`verify_record` compares, epoch by epoch.
_VERIFIED = ("train_loss", "test_acc", "val_oa", "val_avg_f1")


def _experiment(kind: str):
    if kind not in _EXPERIMENTS:
        raise ValueError(f"record kind must be one of {tuple(_EXPERIMENTS)}, got {kind!r}")
    return _EXPERIMENTS[kind]


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
    check_record(record, "the record", ("config",))
    if not isinstance(record["config"], dict):
        raise ValueError(f"the record's config must be a dict of fields, got {type(record['config']).__name__}")
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


def _add_n_power(record: dict) -> dict:
    """Segmentation schema 4 adds the power iterations of the regularizer's search (``n_power``),
    the field both configurations now share (:class:`watlib.regularizer_fields.RegularizerFields`).
    Every earlier segmentation run made one, the paper's :data:`watlib.paper.N_POWER`."""
    record["config"].update(n_power=1)
    return record


_MIGRATIONS = {"classification": {1: _to_schema_2, 2: _to_schema_3, 3: _to_schema_4, 4: _add_ot_solver,
                                  5: _to_schema_6},
               "segmentation": {1: _to_schema_2, 2: _add_ot_solver, 3: _add_n_power}}


def migrate_records(results_dir=None, dry_run: bool = False) -> list[tuple[Path, Path]]:
    """Bring every record under ``results_dir`` to the current schema of its configuration.

    Each migration step fills the fields a schema added with the values the old runs
    actually used, records the step's note, recomputes the key, and renames the record
    (and its array file) to the new name. Nothing else of a record changes.

    Parameters
    ----------
    results_dir : path, optional
        :func:`watlib.records.find_results_dir` by default.
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
        new = record_path(path.parent.parent, path.parent.name, config.name())
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


def read_verifiable(record_path) -> tuple:
    """The record at ``record_path`` and its configuration, or a ValueError naming the file
    and what it lacks: what :func:`verify_record` reruns, checked before anything runs.

    Parameters
    ----------
    record_path : path
        A JSON run record of the current schema, with every field of its configuration (the
        defaults standing in for a missing one would rerun another run than the record's).

    Returns
    -------
    record : dict
    config : TrainConfig or SegmentationConfig

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "r.json"
    ...     _ = path.write_text(json.dumps({"history": {}}))
    ...     read_verifiable(path)
    Traceback (most recent call last):
    ...
    watlib.records.CorruptFileError: .../r.json is not a watlib run record: it has no 'config' (its fields: ['history'])
    """
    record_path = Path(record_path)
    record = check_record(read_record(record_path), record_path, ("config", "history"))
    try:
        config = config_from_record(record)
        missing = {f.name for f in dataclasses.fields(config)} - set(record["config"])
        if missing:  # the defaults would stand in for them: another run than the record's
            raise ValueError(f"the record's configuration lacks the fields {sorted(missing)} of "
                             f"{type(config).__name__}: an older record (run `python -m watlib migrate`) or not a record")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{record_path}: {err}") from None
    return record, config


def verify_record(record_path, epochs: int = 2, *, results_dir=None, device=None, threads: int | None = None,
                  progress: bool = False, **run_kwargs) -> dict:
    """Rerun the first epochs of a record's configuration and compare them with its history.

    The rerun trains in a temporary folder (nothing is cached or overwritten) with the
    thread count the record was made with (unless ``threads`` is given). Loss and accuracy
    are compared exactly: they are expected to match bit for bit when the code (the source
    hash of :func:`watlib.records.provenance`), the device, the CPU
    (:func:`watlib.records.cpu_name`) and the thread count are those of the record, and only
    approximately otherwise.

    Parameters
    ----------
    record_path : path
        A JSON run record.
    epochs : int
        How many of the first epochs to rerun (>= 1).
    results_dir : path, optional
        Where the reference runs of Forward / Backward are found
        (:func:`watlib.records.find_results_dir`); the rerun itself is never written there.
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
        record's provenance and the rerun's), ``changed_files`` (when the source hash differs,
        the package's files that differ between the record's commit and now,
        :func:`watlib.records.source_changes`; None when git cannot tell; [] when the hash is
        the same), ``record_commit`` (the commit that made the record) and ``mismatches`` (a list
        of ``(epoch, quantity, recorded, rerun)``).

    Raises
    ------
    ValueError
        ``record_path`` is not an existing file, not a JSON record, or lacks the fields of one
        (``config``, ``history``), naming the file; before anything runs.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.testing import write_fake_cifar
    >>> from watlib.train import make_config, run
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sums = write_fake_cifar(tmp, "cifar10", n_train=40, n_test=20, seed=0)
    ...     cfg = make_config("cifar10", 0.4, "cce", preset="smoke", train_size=20, test_size=20, batch_size=10)
    ...     rec = run(cfg, results_dir=tmp, data_root=tmp, checksums=sums, progress=False)
    ...     path = record_path(tmp, "cifar10", cfg.name())
    ...     report = verify_record(path, epochs=1, data_root=tmp, checksums=sums)
    >>> report["match"], report["mismatches"]
    (True, [])
    """
    epochs = check_int("epochs", epochs, ge=1)
    record_path = Path(record_path)
    record, config = read_verifiable(record_path)
    kind = _kind_of(record)
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
    changed = source_changes(recorded.get("commit")) if "source" in differences else []
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
    return {"match": not mismatches, "exact_expected": exact, "epochs": rows, "differences": differences,
            "changed_files": changed, "record_commit": recorded.get("commit"), "mismatches": mismatches,
            "record": str(record_path)}


def _rerun(run, config, kind, tmp, results_dir, epochs, device, progress, run_kwargs):
    """The first ``epochs`` of ``config`` trained in ``tmp``, with any reference runs it needs
    (Forward / Backward's CCE run) read from ``results_dir``."""
    if kind == "classification":
        reference = results_dir if results_dir is not None else find_results_dir()
        run_kwargs = {"reference_dir": reference, **run_kwargs}
    return run(config, results_dir=tmp, device=device, progress=progress, force=True, stop_after=epochs,
               **run_kwargs)
