"""The runs behind the Fashion-MNIST and ground-cost chapters, as one resumable sweep.

Table 2 at the ``cpu`` preset (the ten methods x seeds 0, 1, 2 at 40% noise) and the
ground-cost study (WAT with four other costs, each scaled to the mean off-diagonal value of
WAT_C's cost, seeds 0, 1, 2): 42 runs, every one on one torch thread, two at a time on a
2-core machine (Ray workers of one CPU each). Runs whose complete record exists are loaded,
not trained, so the same command resumes an interrupted sweep; the per-epoch checkpoints of
runs in progress are kept in ``--checkpoint-dir``.

    python experiments/fashion_mnist_study.py --results-dir results --checkpoint-dir /var/tmp/wat-ckpt
    python experiments/fashion_mnist_study.py --list      # the 42 configurations, in sweep order

Start it from a clean checkout of one commit (each record stores the commit and whether
``watlib/`` was dirty), so that every record of the study is made by the same code.
"""

from __future__ import annotations

import argparse

from watlib.paper import TABLE2_METHODS
from watlib.train import MATCH_WATC, grid_configs

#: The ablation's costs (Table 2's wat01 and watc keep their own costs, unscaled).
ABLATION_COSTS = ("zero_one", "word_distance", "features", "oracle")
SEEDS = (0, 1, 2)
NOISE = 0.4
#: The study's OT settings (watlib.ot_settings.STUDY_OT: Sinkhorn to 1e-4), not training's
#: later default (Newton): the committed records were made with them.
OT = "study"


def study_configs(seeds=SEEDS):
    """The study's configurations, seed by seed; in a seed CCE first (Forward, Backward and the
    features cost need it), then the WAT runs, then the other baselines."""
    order = ["cce", "wat01", "watc"]
    order += [m for m in TABLE2_METHODS if m not in order]
    configs = []
    for seed in seeds:
        configs += grid_configs("fashion_mnist", [NOISE], order[:3], [seed], preset="cpu", ot=OT)
        for cost in ABLATION_COSTS:
            configs += grid_configs("fashion_mnist", [NOISE], ["wat01"], [seed], preset="cpu", cost=cost,
                                    cost_scale=MATCH_WATC, ot=OT)
        configs += grid_configs("fashion_mnist", [NOISE], order[3:], [seed], preset="cpu", ot=OT)
    return configs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", default=None, help="default: results/")
    parser.add_argument("--checkpoint-dir", default=None, help="per-epoch checkpoints of unfinished runs")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time (one thread each)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--list", action="store_true", help="print the configurations and exit")
    args = parser.parse_args(argv)
    configs = study_configs(args.seeds)
    if args.list:
        for config in configs:
            print(config.name(), config.cost or "", config.cost_scale or "")
        return 0
    from watlib.sweep import run_sweep

    records = run_sweep(configs, results_dir=args.results_dir, checkpoint_dir=args.checkpoint_dir,
                        workers=args.workers, cpus_per_run=1)
    print(records.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
