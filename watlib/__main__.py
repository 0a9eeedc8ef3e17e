"""Command line: ``python -m watlib train | segment | table | verify | migrate``.

Examples
--------
python -m watlib train --dataset fashion_mnist --noise 0.4 --method watc --preset cpu --seed 0
python -m watlib train --method cce vat watc --seeds 0 1 2 --preset cpu --threads 1
python -m watlib train --method wat01 --preset cpu --max-iter 1000 --ot-grad implicit
python -m watlib train --method wat01 --preset cpu --cost word_distance --cost-scale match_watc
python -m watlib train --noise 0.2 0.4 --method cce vat watc --seeds 0 1 2 --executor ray --workers 2
python -m watlib train --noise 0.2 0.4 --method cce watc --seeds 0 1 2 --executor ray --address auto
python -m watlib segment --method cce wat --preset cpu
python -m watlib segment --data-root /path/to/ISPRS_Vaihingen --preset paper --seeds 0 1
python -m watlib table --dataset fashion_mnist
python -m watlib table --dataset fashion_mnist --spread pooled
python -m watlib table --dataset vaihingen
python -m watlib verify results/fashion_mnist/fashion_mnist_cce_noise0.4_seed1_<key>.json --epochs 3
python -m watlib migrate --dry-run

Every configuration is built, and so checked, before any data loads: a bad value (a field, a
device, a results or checkpoint folder that is a file, a file that is not a run record) is
reported at once, in one line under the subcommand's usage, with exit status 2, not as a
traceback after an epoch of training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .methods import METHODS
from .ot import GRAD_MODES, SOLVERS
from .ot_settings import OT_PRESETS, RELEASED_OT, STUDY_OT, TRAIN_OT
from .sweep import EXECUTORS
from .train import COSTS, DATASETS, MATCH_WATC, PRESETS
from .train_segmentation import SEGMENTATION_METHODS, SEGMENTATION_PRESETS


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text}")
    return value


def _cost_scale(text):
    """--cost-scale: a number, or the name of the scale to WAT_C's mean (checked by TrainConfig)."""
    if text == MATCH_WATC:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0 or {MATCH_WATC!r}, got {text!r}") from None


def _common(p, presets):
    """Options the two training commands share."""
    p.add_argument("--seed", "--seeds", dest="seeds", nargs="+", type=int, default=[0])
    p.add_argument("--preset", choices=("auto", *presets), default="auto", help="auto: paper on a GPU, cpu otherwise")
    for name, typ in (("epochs", int), ("width", float), ("batch-size", int), ("lr", float), ("beta", float),
                      ("eps", float), ("reg", float), ("warmup", int)):
        p.add_argument(f"--{name}", type=typ, default=None, help="override the preset")
    p.add_argument("--ot", choices=OT_PRESETS, default="train",
                   help=f"settings of WAT's OT loss: train (default: {TRAIN_OT.solver} to {TRAIN_OT.tol:.0e}), study (the "
                        f"committed records': {STUDY_OT.solver} to {STUDY_OT.tol:.0e}), released (the authors' code: "
                        f"{RELEASED_OT.max_iter} unrolled {RELEASED_OT.solver} iterations); the options below change them")
    p.add_argument("--max-iter", type=int, default=None, help="iterations (Newton: steps) of WAT's OT loss, at most")
    p.add_argument("--tol", type=float, default=None, help="stopping threshold of WAT's OT loss (L1 marginal violation)")
    p.add_argument("--ot-solver", dest="ot_solver", choices=SOLVERS, default=None,
                   help=f"solver of WAT's OT loss (default: --ot's, {TRAIN_OT.solver} for train); --max-iter counts its "
                        f"iterations (default: the solver's cap, {TRAIN_OT.max_iter} Newton steps or {STUDY_OT.max_iter:,} "
                        "Sinkhorn iterations)")
    p.add_argument("--ot-grad", dest="grad", choices=GRAD_MODES, default=None,
                   help="gradient of WAT's OT loss: through the unrolled iterations, or implicit")
    p.add_argument("--device", default=None, help="cuda, cpu, cuda:1, ... (default: CUDA when available)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="torch threads (recorded; pass 1 when two runs share two cores)")
    p.add_argument("--results-dir", default=None, help="where run records are cached (default: results/)")
    p.add_argument("--force", action="store_true", help="retrain even when a record exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m watlib", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train (or load from the cache) one or more runs of Table 2")
    t.set_defaults(parser=t)  # its errors print its usage line, not the top level's
    t.add_argument("--dataset", choices=DATASETS, default="fashion_mnist")
    t.add_argument("--noise", type=float, nargs="+", default=[0.4],
                   help="asymmetric noise rate(s) p in [0, 1]: a run per rate")
    t.add_argument("--noise-variant", default=None, help="variant of the noise mapping (see watlib.noise)")
    t.add_argument("--method", nargs="+", choices=METHODS, default=["cce"])
    for name in ("train-size", "test-size"):
        t.add_argument(f"--{name}", type=int, default=None, help="override the preset")
    t.add_argument("--milestones", type=int, nargs="*", default=None, help="override the preset")
    t.add_argument("--cost", choices=COSTS, default=None,
                   help="ground cost of the WAT methods (wat01, watc); default: each method's own")
    t.add_argument("--cost-scale", type=_cost_scale, default=None,
                   help=f"a number > 0 multiplying the WAT methods' cost, or {MATCH_WATC!r}: scaled to the mean "
                        "off-diagonal value of the data set's word-vector cost; default: the cost as built")
    t.add_argument("--val-size", type=int, default=None,
                   help="noisy validation images of the CCE run behind Forward/Backward (0: T from the final "
                        "model); default: a tenth of training plus validation images (Patrini et al.)")
    t.add_argument("--init-epoch", type=int, default=None,
                   help="D2L's wait before its turning-point test; default: Ma et al.'s for the data set")
    t.add_argument("--data-root", default=None, help="folder of the dataset files (must exist)")
    t.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local: one run after the other in this process; ray: the runs as Ray tasks")
    t.add_argument("--address", default=None,
                   help="with --executor ray: the cluster to join ('auto', 'ray://host:10001'); "
                        "default: start a local Ray instance")
    t.add_argument("--workers", type=_positive_int, default=None,
                   help="with --executor ray and no --address: runs at a time (default: CPUs / --cpus-per-run)")
    t.add_argument("--cpus-per-run", type=_positive_int, default=1,
                   help="with --executor ray: CPUs and torch threads of each run (default 1)")
    t.add_argument("--checkpoint-dir", default=None,
                   help="where per-epoch checkpoints are kept (with --executor ray: a path on each worker)")
    _common(t, PRESETS)

    g = sub.add_parser("segment", help="train (or load from the cache) Vaihingen segmentation runs (Section 5.2)")
    g.set_defaults(parser=g)
    g.add_argument("--method", nargs="+", choices=SEGMENTATION_METHODS, default=list(SEGMENTATION_METHODS))
    g.add_argument("--noise-fraction", type=float, default=None,
                   help="fraction of the training objects relabelled (default: the paper's third)")
    g.add_argument("--data-root", default=None,
                   help="the ISPRS Vaihingen folder; without it, synthetic scenes in its layout")
    for name, typ in (("patch", int), ("patches-per-epoch", int)):
        g.add_argument(f"--{name}", type=typ, default=None, help="override the preset")
    _common(g, SEGMENTATION_PRESETS)

    s = sub.add_parser("table", help="print Table 2 (or Table 3) from the cached records, beside the paper's")
    s.set_defaults(parser=s)
    s.add_argument("--dataset", choices=(*DATASETS, "vaihingen"), default=None,
                   help="one dataset (vaihingen: Table 3); default: every classification dataset")
    s.add_argument("--results-dir", default=None)
    s.add_argument("--spread", choices=("seeds", "pooled"), default="seeds",
                   help="Table 2's ± of ours: the standard deviation over seeds of the last-10 means (default), "
                        "or that of all seeds' last-10 accuracies pooled")

    v = sub.add_parser("verify", help="rerun the first epochs of a record and compare them with its history")
    v.set_defaults(parser=v)
    v.add_argument("record", help="a JSON run record")
    v.add_argument("--epochs", type=_positive_int, default=2, help="how many of the first epochs to rerun")
    v.add_argument("--threads", type=_positive_int, default=None, help="default: the record's thread count")
    v.add_argument("--device", default=None)
    v.add_argument("--data-root", default=None)
    v.add_argument("--results-dir", default=None, help="where Forward/Backward's CCE run is (default: results/)")
    v.add_argument("--progress", action="store_true")

    m = sub.add_parser("migrate", help="bring every record to the current schema (renames files)")
    m.set_defaults(parser=m)
    m.add_argument("--results-dir", default=None)
    m.add_argument("--dry-run", action="store_true", help="only list what would change")
    return p


_SHARED = ("epochs", "width", "batch_size", "lr", "beta", "eps", "reg", "warmup", "ot", "max_iter", "tol", "grad",
           "ot_solver")


def _train(args, parser) -> int:
    from .records import CorruptFileError
    from .sweep import SweepError, check_executor, run_configs
    from .train import grid_configs

    overrides = {k: getattr(args, k) for k in (*_SHARED, "train_size", "test_size", "noise_variant", "cost",
                                               "cost_scale", "val_size", "init_epoch")}
    if args.milestones is not None:
        overrides["milestones"] = tuple(args.milestones)
    try:
        configs = grid_configs(args.dataset, args.noise, args.method, args.seeds, preset=args.preset, **overrides)
        _check_data_root(args.data_root)
        check_executor(args.executor, args.address, args.workers, args.cpus_per_run)
        if args.executor == "local" and args.cpus_per_run != 1:
            raise ValueError(f"--cpus-per-run applies to --executor ray (locally, pass --threads), "
                             f"got {args.cpus_per_run}")
        # on a cluster (--address) the device and the checkpoint folder are each worker's
        _check_places(args, local=args.address is None)
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    status = 0
    try:
        records = run_configs(configs, results_dir=args.results_dir, checkpoint_dir=args.checkpoint_dir,
                              device=args.device, data_root=args.data_root, progress=not args.no_progress,
                              force=args.force, executor=args.executor, address=args.address, workers=args.workers,
                              cpus_per_run=args.cpus_per_run, desc=f"{args.dataset} runs")
    except SweepError as err:
        records, status = err.records, 1
        print(f"python -m watlib train: error: {err}", file=sys.stderr)
    except CorruptFileError as err:  # a cached record that cannot be used: the file and the way out
        parser.error(str(err))
    for config, record in zip(configs, records):
        if record is None:
            print(f"{config.name()}: FAILED")
            continue
        m = record["metric"]
        print(f"{config.name()}: last-10 mean {m['last10_mean']:.2f} ± {m['last10_std']:.2f}, "
              f"peak {m['peak']:.2f} at epoch {m['peak_epoch']}, {record['wall_time_s']:.0f} s "
              f"on {record['device']}")
    return status


def _segment(args, parser) -> int:
    from .records import CorruptFileError
    from .train_segmentation import make_segmentation_config, run_segmentation

    overrides = {k: getattr(args, k) for k in (*_SHARED, "patch", "patches_per_epoch")}
    data = "isprs" if args.data_root is not None else "synthetic"
    try:
        configs = [make_segmentation_config(method, preset=args.preset, seed=seed, noise_fraction=args.noise_fraction,
                                            data=data, **overrides)
                   for method in args.method for seed in args.seeds]
        _check_data_root(args.data_root)
        _check_places(args)
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    for config in configs:
        try:
            record = run_segmentation(config, data_root=args.data_root, results_dir=args.results_dir,
                                      device=args.device, progress=not args.no_progress, force=args.force)
        except CorruptFileError as err:
            parser.error(str(err))
        test = record["test"]
        car = test["f1"].get("car")
        print(f"{config.name()}: OA {test['overall_accuracy']:.2f}, average F1 "
              f"{test['average_f1'] if test['average_f1'] is not None else float('nan'):.2f}, car F1 "
              f"{car if car is not None else float('nan'):.2f}, {record['wall_time_s']:.0f} s on "
              f"{record['device']}; data: {record['data']}")
    return 0


def _check_places(args, local: bool = True) -> None:
    """--device, --results-dir and --checkpoint-dir, before any data loads: the device must
    exist here (with ``local``; elsewhere it is only parsed), the folders be folders (created
    when missing)."""
    from ._checks import check_device, check_folder

    check_device("--device", args.device, available=local)
    if getattr(args, "results_dir", None) is not None:
        check_folder("--results-dir", args.results_dir)
    if local and getattr(args, "checkpoint_dir", None) is not None:
        check_folder("--checkpoint-dir", args.checkpoint_dir)


def _check_data_root(data_root) -> None:
    if data_root is not None and not Path(data_root).expanduser().is_dir():
        raise ValueError(f"--data-root must be an existing folder, got {data_root!r}")


def _table(args) -> int:
    from .results import results_report

    try:
        print(results_report(args.results_dir, dataset=args.dataset, pooled=args.spread == "pooled"))
    except (FileNotFoundError, ValueError) as err:
        args.parser.error(str(err))
    return 0


def _verify(args) -> int:
    from .audit import read_verifiable, verify_record

    try:  # a file that is no record, a bad device: said before anything reruns
        read_verifiable(args.record)
        _check_places(args)
    except (TypeError, ValueError) as err:
        args.parser.error(str(err))
    kwargs = {"data_root": args.data_root} if args.data_root else {}
    report = verify_record(args.record, epochs=args.epochs, results_dir=args.results_dir, device=args.device,
                           threads=args.threads, progress=args.progress, **kwargs)
    for line in _verify_lines(report):
        print(line)
    return 0 if report["match"] else 1


def _verify_lines(report: dict) -> list[str]:
    """What ``verify`` prints of a :func:`watlib.audit.verify_record` report: the epochs compared,
    what differs in the provenance (for the code: which files of the package, when git can tell),
    and the verdict, plainly when every value matches."""
    lines = [f"{report['record']}: first {len(report['epochs'])} epoch(s) rerun"]
    for row in report["epochs"]:
        cells = [f"{q} {a!r} vs {b!r} {'ok' if a == b else 'DIFFERS'}" for q, (a, b) in
                 ((k, v) for k, v in row.items() if k != "epoch")]
        lines.append(f"  epoch {row['epoch']}: " + "; ".join(cells))
    commit, changed = (report.get("record_commit") or "?")[:12], report.get("changed_files")
    for k, (a, b) in report["differences"].items():
        line = f"  provenance differs: {k} {a!r} (record) vs {b!r} (now)"
        if k == "source" and changed is None:
            line += ": git cannot tell which files differ"
        elif k == "source" and changed:
            line += f"; the files of watlib/ that differ from the record's commit {commit}: {', '.join(changed)}"
        elif k == "source":
            line += f"; no file of watlib/ differs from the record's commit {commit} (it was made from uncommitted code)"
        lines.append(line)
    n = len(report["mismatches"])
    if report["match"]:
        lines.append(f"match: {n} value(s) differ")
    elif report["exact_expected"]:
        lines.append(f"MISMATCH: {n} value(s) differ, with the record's code, device, CPU and threads")
    else:
        lines.append(f"MISMATCH: {n} value(s) differ, where the provenance differs (above): a bit-for-bit match "
                     "was not expected")
    return lines


def _migrate(args) -> int:
    from .audit import migrate_records

    moved = migrate_records(args.results_dir, dry_run=args.dry_run)
    for old, new in moved:
        print(f"{old} -> {new.name}")
    print(f"{len(moved)} record(s) {'to migrate' if args.dry_run else 'migrated'}")
    return 0


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "threads", None) and args.command in ("train", "segment"):
        import torch

        torch.set_num_threads(args.threads)
    if args.command == "train":
        return _train(args, args.parser)
    if args.command == "segment":
        return _segment(args, args.parser)
    if args.command == "verify":
        return _verify(args)
    if args.command == "migrate":
        return _migrate(args)
    return _table(args)


if __name__ == "__main__":
    sys.exit(main())
