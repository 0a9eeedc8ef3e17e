"""Command line: ``python -m watlib train ...``, ``segment ...`` and ``table ...``.

Examples
--------
python -m watlib train --dataset fashion_mnist --noise 0.4 --method watc --preset cpu --seed 0
python -m watlib train --method cce vat watc --seeds 0 1 2 --preset cpu
python -m watlib segment --method cce wat --preset cpu
python -m watlib segment --data-root /path/to/ISPRS_Vaihingen --preset paper --seeds 0 1
python -m watlib table --dataset fashion_mnist
python -m watlib table --dataset vaihingen
"""

from __future__ import annotations

import argparse
import sys

from .methods import METHODS
from .train import DATASETS, PRESETS, make_config, run
from .train_segmentation import SEGMENTATION_METHODS, SEGMENTATION_PRESETS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m watlib", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train (or load from the cache) one or more runs")
    t.add_argument("--dataset", choices=DATASETS, default="fashion_mnist")
    t.add_argument("--noise", type=float, default=0.4, help="asymmetric noise rate p in [0, 1]")
    t.add_argument("--noise-variant", default=None, help="variant of the noise mapping (see watlib.noise)")
    t.add_argument("--method", nargs="+", choices=METHODS, default=["cce"])
    t.add_argument("--seed", "--seeds", dest="seeds", nargs="+", type=int, default=[0])
    t.add_argument("--preset", choices=("auto", *PRESETS), default="auto",
                   help="auto: paper on a GPU, cpu otherwise")
    for name, typ in (("epochs", int), ("width", float), ("train-size", int), ("test-size", int),
                      ("batch-size", int), ("lr", float), ("beta", float), ("eps", float), ("reg", float),
                      ("warmup", int)):
        t.add_argument(f"--{name}", type=typ, default=None, help="override the preset")
    t.add_argument("--milestones", type=int, nargs="*", default=None, help="override the preset")
    t.add_argument("--device", default=None, help="cuda, cpu, cuda:1, ... (default: CUDA when available)")
    t.add_argument("--data-root", default=None, help="folder of the dataset files")
    t.add_argument("--results-dir", default=None, help="where run records are cached (default: results/)")
    t.add_argument("--force", action="store_true", help="retrain even when a record exists")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")

    g = sub.add_parser("segment", help="train (or load from the cache) Vaihingen segmentation runs (Section 5.2)")
    g.add_argument("--method", nargs="+", choices=SEGMENTATION_METHODS, default=list(SEGMENTATION_METHODS))
    g.add_argument("--seed", "--seeds", dest="seeds", nargs="+", type=int, default=[0])
    g.add_argument("--preset", choices=("auto", *SEGMENTATION_PRESETS), default="auto",
                   help="auto: paper on a GPU, cpu otherwise")
    g.add_argument("--noise-fraction", type=float, default=None,
                   help="fraction of the training objects relabelled (default: the paper's third)")
    g.add_argument("--data-root", default=None,
                   help="the ISPRS Vaihingen folder; without it, synthetic scenes in its layout")
    for name, typ in (("epochs", int), ("width", float), ("patch", int), ("batch-size", int),
                      ("patches-per-epoch", int), ("lr", float), ("beta", float), ("eps", float), ("reg", float)):
        g.add_argument(f"--{name}", type=typ, default=None, help="override the preset")
    g.add_argument("--device", default=None, help="cuda, cpu, cuda:1, ... (default: CUDA when available)")
    g.add_argument("--results-dir", default=None, help="where run records are cached (default: results/)")
    g.add_argument("--force", action="store_true", help="retrain even when a record exists")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")

    s = sub.add_parser("table", help="print Table 2 (or Table 3) from the cached records, beside the paper's")
    s.add_argument("--dataset", choices=(*DATASETS, "vaihingen"), default=None,
                   help="one dataset (vaihingen: Table 3); default: every classification dataset")
    s.add_argument("--results-dir", default=None)
    return p


def _segment(args) -> int:
    from .train_segmentation import make_segmentation_config, run_segmentation

    overrides = {k: getattr(args, k) for k in ("epochs", "width", "patch", "batch_size", "patches_per_epoch",
                                               "lr", "beta", "eps", "reg")}
    data = "isprs" if args.data_root is not None else "synthetic"
    for method in args.method:
        for seed in args.seeds:
            config = make_segmentation_config(method, preset=args.preset, seed=seed,
                                              noise_fraction=args.noise_fraction, data=data, **overrides)
            record = run_segmentation(config, data_root=args.data_root, results_dir=args.results_dir,
                                      device=args.device, progress=not args.no_progress, force=args.force)
            test = record["test"]
            car = test["f1"].get("car")
            print(f"{config.name()}: OA {test['overall_accuracy']:.2f}, average F1 "
                  f"{test['average_f1'] if test['average_f1'] is not None else float('nan'):.2f}, car F1 "
                  f"{car if car is not None else float('nan'):.2f}, {record['wall_time_s']:.0f} s on "
                  f"{record['device']}; data: {record['data']}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "train":
        overrides = {k: getattr(args, k) for k in ("epochs", "width", "train_size", "test_size", "batch_size",
                                                   "lr", "beta", "eps", "reg", "warmup", "noise_variant")}
        if args.milestones is not None:
            overrides["milestones"] = tuple(args.milestones)
        for method in args.method:
            for seed in args.seeds:
                config = make_config(args.dataset, args.noise, method, preset=args.preset, seed=seed, **overrides)
                record = run(config, results_dir=args.results_dir, device=args.device, data_root=args.data_root,
                             progress=not args.no_progress, force=args.force)
                m = record["metric"]
                print(f"{config.name()}: last-10 mean {m['last10_mean']:.2f} ± {m['last10_std']:.2f}, "
                      f"peak {m['peak']:.2f} at epoch {m['peak_epoch']}, {record['wall_time_s']:.0f} s "
                      f"on {record['device']}")
        return 0
    if args.command == "segment":
        return _segment(args)
    from .results import load_records, results_table, segmentation_table

    if args.dataset == "vaihingen":
        table = segmentation_table(load_records(args.results_dir, dataset="vaihingen"))
    else:
        datasets = [args.dataset] if args.dataset else list(DATASETS)
        table = results_table([r for d in datasets for r in load_records(args.results_dir, dataset=d)])
    print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
