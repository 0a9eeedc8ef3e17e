"""Command line: ``python -m watlib train ...`` and ``python -m watlib table ...``.

Examples
--------
python -m watlib train --dataset fashion_mnist --noise 0.4 --method watc --preset cpu --seed 0
python -m watlib train --method cce vat watc --seeds 0 1 2 --preset cpu
python -m watlib table --dataset fashion_mnist
"""

from __future__ import annotations

import argparse
import sys

from .methods import METHODS
from .train import DATASETS, PRESETS, make_config, run


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

    s = sub.add_parser("table", help="print Table 2 from the cached records, beside the paper's numbers")
    s.add_argument("--dataset", choices=DATASETS, default=None)
    s.add_argument("--results-dir", default=None)
    return p


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
    from .results import load_records, results_table

    table = results_table(load_records(args.results_dir, dataset=args.dataset))
    print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
