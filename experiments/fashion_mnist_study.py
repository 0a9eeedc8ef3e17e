"""The runs behind the Fashion-MNIST and ground-cost chapters, as one resumable sweep.

The study of issue 21, at the ``cpu`` preset and 40% noise, every run on one torch thread,
two at a time on a 2-core machine (Ray workers of one CPU each):

* seeds 0 to 7 of the runs the chapters compare: CCE, VAT, Unhinged, WAT_C, WAT_0-1 and
  WAT with three shapes of cost at WAT_C's size (the 0-1 cost, the word distance and the
  features cost, each scaled to the mean off-diagonal value of WAT_C's cost);
* seeds 0 to 7 of WAT_0-1 and WAT_C with the released code's solver (``ot="released"``: 20
  unrolled Sinkhorn iterations, no tolerance), the arm that tests whether the solver, not the
  cost, makes the paper's WAT_0-1 work;
* seeds 0 to 2 of the other methods of Table 2, of the oracle cost at WAT_C's size and of the
  clean-label references (CCE and WAT_C at 0% noise).

The WAT runs use training's OT settings (``ot="train"``: Newton to a marginal violation of
1e-6, :data:`watlib.ot_settings.TRAIN_OT`). The methods without OT have no OT settings, so the
first study's records of those carry over. Runs whose complete record exists are loaded, not
trained, so the same command resumes an interrupted sweep; the per-epoch checkpoints of runs
in progress are kept in ``--checkpoint-dir``.

    python experiments/fashion_mnist_study.py --results-dir results --checkpoint-dir /var/tmp/wat-ckpt
    python experiments/fashion_mnist_study.py --list      # the configurations, in sweep order

Start it from a clean checkout of one commit (each record stores the commit and whether
``watlib/`` was dirty), so that every record of the study is made by the same code.
"""

from __future__ import annotations

import argparse

from watlib.paper import TABLE2_METHODS
from watlib.train import MATCH_WATC, grid_configs

#: Seeds of the runs whose differences the chapters resolve, and of the other runs.
SEEDS = tuple(range(8))
FEW_SEEDS = (0, 1, 2)
NOISE = 0.4
#: The methods compared at every seed; the other methods of Table 2 run FEW_SEEDS.
RESOLVED_METHODS = ("cce", "watc", "wat01", "vat", "unhinged")
OTHER_METHODS = tuple(m for m in TABLE2_METHODS if m not in RESOLVED_METHODS)
#: Shapes of cost compared at WAT_C's size (method wat01, cost_scale MATCH_WATC), and the oracle
#: (FEW_SEEDS: it bounds the others, it is not one of the compared shapes).
SHAPES = ("zero_one", "word_distance", "features")
ORACLE = "oracle"
#: The OT settings of the WAT runs (watlib.ot_settings.OT_PRESETS) and of the released-solver arm.
OT = "train"
RELEASED_OT = "released"
RELEASED_METHODS = ("watc", "wat01")
#: The clean-label references (FEW_SEEDS).
CLEAN_NOISE = 0.0
CLEAN_METHODS = ("cce", "watc")


def study_configs(seeds=SEEDS):
    """The study's configurations, seed by seed (so that seeds 0 to 2 of everything come first).

    In a seed CCE comes first (Forward, Backward and the features cost need it), then the WAT
    runs, the released-solver arm, the shapes at WAT_C's size, the other baselines and, in
    :data:`FEW_SEEDS`, the oracle, the other methods of Table 2 and the clean-label references.
    """
    configs = []
    for seed in seeds:
        grid = dict(preset="cpu", ot=OT)
        configs += grid_configs("fashion_mnist", [NOISE], ["cce", "watc", "wat01"], [seed], **grid)
        configs += grid_configs("fashion_mnist", [NOISE], list(RELEASED_METHODS), [seed], preset="cpu",
                                ot=RELEASED_OT)
        shapes = SHAPES + ((ORACLE,) if seed in FEW_SEEDS else ())
        for cost in shapes:
            configs += grid_configs("fashion_mnist", [NOISE], ["wat01"], [seed], cost=cost, cost_scale=MATCH_WATC,
                                    **grid)
        others = [m for m in RESOLVED_METHODS if m not in ("cce", "watc", "wat01")]
        others += list(OTHER_METHODS) if seed in FEW_SEEDS else []
        configs += grid_configs("fashion_mnist", [NOISE], others, [seed], **grid)
        if seed in FEW_SEEDS:
            configs += grid_configs("fashion_mnist", [CLEAN_NOISE], list(CLEAN_METHODS), [seed], **grid)
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
            ot = config.ot
            print(config.name(), config.cost or "", config.cost_scale or "", ot.solver if ot else "",
                  ot.max_iter if ot else "")
        return 0
    from watlib.sweep import run_sweep

    records = run_sweep(configs, results_dir=args.results_dir, checkpoint_dir=args.checkpoint_dir,
                        workers=args.workers, cpus_per_run=1)
    print(records.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
