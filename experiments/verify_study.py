"""Rerun the first epochs of one record of each configuration of the study, and log the verdict.

Issue 21 asks that ``python -m watlib verify`` match, under the final code, the first epoch of
one record of each configuration without OT and, of each WAT configuration, the first
regularized epoch (``--epochs 13`` at the ``cpu`` preset: epoch 1 to 12 are the warm-up). This
reruns each configuration up to the first epoch whose loss is the method's own (for VAT the
first regularized epoch too, for D2L the first after its turn), since an epoch of plain
cross-entropy checks nothing of the method. A
record is reproduced bit for bit only on a CPU of its ``provenance.cpu``
(:func:`watlib.records.cpu_name`), so this picks, for each configuration, the record of the
lowest seed made on this machine's CPU; where there is none, a record that names no CPU (made
before records named theirs: whether this CPU made it is what the rerun tells); where there is
neither, the configuration is logged as ``no record of this CPU`` and left for a machine of
another kind.

The verdicts go to ``experiments/verification/fashion_mnist_<cpu hash>.json`` (one file per
kind of CPU, one entry per configuration, with the rerun's commit and source hash), so the
check is repeatable and its result is committed with the records. A configuration whose
entry matched under the same source hash is not rerun.

    python experiments/verify_study.py --results-dir experiments/pending_records
    python experiments/verify_study.py --results-dir experiments/pending_records --only no-ot
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import json
from pathlib import Path

from watlib.audit import verify_record
from watlib.ot_settings import ot_preset_name
from watlib.records import atomic_write, cpu_name, provenance, read_record, record_path

STUDY = Path(__file__).with_name("fashion_mnist_study.py")
LOG_DIR = Path(__file__).with_name("verification")


def _study():
    spec = importlib.util.spec_from_file_location("fashion_mnist_study", STUDY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configuration_label(config) -> str:
    """A configuration without its seed, as the log names it (e.g. ``wat01 p0.4 cost=features
    scale=watc ot=train``)."""
    parts = [config.method, f"p{config.noise:g}"]
    if config.cost is not None:
        parts.append(f"cost={config.cost}")
    if config.cost_scale is not None:
        parts.append(f"scale={config.cost_scale}")
    if config.ot is not None:
        parts.append(f"ot={ot_preset_name(dataclasses.asdict(config))}")
    return " ".join(parts)


def verify_epochs(config) -> int:
    """How many epochs the check reruns: up to the first whose loss is the method's own
    (:attr:`watlib.train.TrainConfig.first_active_epoch`): the first for CCE, the first
    regularized one for VAT and WAT (the warm-up plus one), the first after D2L's turn."""
    return config.first_active_epoch + 1


def pick_record(configs, results_dir, cpu: str):
    """The record to rerun among the seeds ``configs`` of one configuration, and why.

    Parameters
    ----------
    configs : sequence of watlib.train.TrainConfig
        The configuration at each of its seeds, in seed order.
    results_dir : path
    cpu : str
        This machine's :func:`watlib.records.cpu_name`.

    Returns
    -------
    (path or None, str)
        The lowest-seed complete record made on ``cpu``; else the lowest-seed complete record
        that names no CPU; else None. The string says which case it is.
    """
    unnamed = None
    for config in configs:
        path = record_path(results_dir, config.dataset, config.name())
        if not path.exists():
            continue
        record = read_record(path)
        if not record.get("complete"):
            continue
        made_on = (record.get("provenance") or {}).get("cpu")
        if made_on == cpu:
            return path, "made on this CPU"
        if made_on is None and unnamed is None:
            unnamed = path
    if unnamed is not None:
        return unnamed, "the record names no CPU"
    return None, "no record of this CPU"


def group_configurations(configs) -> dict:
    """The study's configurations by :func:`configuration_label`, each a list in seed order."""
    groups: dict = {}
    for config in sorted(configs, key=lambda c: c.seed):
        groups.setdefault(configuration_label(config), []).append(config)
    return groups


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default="results")
    parser.add_argument("--only", choices=("all", "ot", "no-ot"), default="all",
                        help="the WAT configurations, those without OT, or both")
    parser.add_argument("--threads", type=int, default=None, help="default: each record's thread count")
    args = parser.parse_args(argv)
    results_dir = Path(args.results_dir)
    if not results_dir.is_dir():
        parser.error(f"--results-dir {results_dir} is not a folder")
    cpu = cpu_name()
    now = provenance()
    groups = group_configurations(_study().study_configs())
    log_path = LOG_DIR / f"fashion_mnist_{cpu.rsplit(' ', 1)[-1]}.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"cpu": cpu, "entries": {}}
    failed = 0
    for label, configs in groups.items():
        has_ot = configs[0].ot is not None
        if args.only == ("no-ot" if has_ot else "ot"):
            continue
        old = log["entries"].get(label)
        if old and old.get("match") and old.get("source") == now["source"]:
            print(f"{label}: matched before under this code ({old['record']})")
            continue
        path, why = pick_record(configs, results_dir, cpu)
        entry = {"reason": why, "record": None if path is None else path.name}
        if path is not None:
            epochs = verify_epochs(configs[0])
            print(f"{label}: rerunning {epochs} epoch(s) of {path.name} ({why})", flush=True)
            report = verify_record(path, epochs=epochs, results_dir=results_dir, threads=args.threads)
            entry.update(epochs=epochs, match=report["match"], exact_expected=report["exact_expected"],
                         mismatches=[list(m) for m in report["mismatches"]],
                         last_epoch=report["epochs"][-1] if report["epochs"] else None,
                         record_commit=report["record_commit"])
            failed += not report["match"]
        entry.update(commit=now["commit"], dirty=now["dirty"], source=now["source"],
                     date=datetime.date.today().isoformat())
        print(f"  {why if path is None else 'match' if entry['match'] else 'MISMATCH'}", flush=True)
        log["entries"][label] = entry
        atomic_write(log_path, lambda f: f.write((json.dumps(log, indent=1, sort_keys=True) + "\n").encode()))
    print(f"log: {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
