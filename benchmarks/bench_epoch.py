"""Wall time of a `cpu`-preset run of every method of Table 2, from timed epochs.

The issue behind the `cpu` preset asks that one run of any method on Fashion-MNIST finish
in under 25 minutes on two CPU cores. A full run per method is 50 epochs; this script times
``--epochs`` epochs of each method, in the same process and with the same thread count, on
real Fashion-MNIST at the `cpu` preset, and estimates a run's wall time as

    warm-up epochs x (CCE's epoch) + (50 - warm-up) x (the method's epoch),

since VAT and WAT train exactly CCE's objective during the warm-up. The regularizers are
switched on from the first timed epoch (``warmup=0``) so that their epochs are the ones
timed. Every epoch includes what ``watlib.train.run`` does in an epoch: the training steps,
the method's end-of-epoch work (D2L's LID estimates), the evaluation on the 10,000 test
images and the checkpoint.

Forward and Backward use the transition matrix estimated by the CCE run of the same seed;
the committed CCE record is copied into the temporary cache under the key of the timed
configuration (the warm-up does not change CCE), so no CCE run is retrained.

Run on an otherwise idle machine: ``python benchmarks/bench_epoch.py [--epochs 2] [--threads 2]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from watlib.methods import METHODS
from watlib.records import find_results_dir
from watlib.train import VAL_METHODS, make_config, run

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2, help="epochs timed per method")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    def timed(method, **kw):
        # val_size=0 for CCE, Forward and Backward: the committed CCE record (which gives
        # Forward and Backward their T) was made before the validation split existed, so only
        # these configurations find it; an epoch with the split also scores 444 more images.
        return make_config("fashion_mnist", 0.4, method, preset="cpu", ot="study",  # the committed records'
                           **({"val_size": 0} if method in VAL_METHODS else {}), **kw)

    cpu = timed("cce")
    cce_record = find_results_dir(ROOT) / "fashion_mnist" / f"{cpu.name()}.json"
    if not cce_record.exists():
        raise SystemExit(f"needs the committed CCE record {cce_record} (for Forward and Backward's T)")
    per_epoch = {}
    with tempfile.TemporaryDirectory() as tmp:
        timed_cce = timed("cce", warmup=0)
        record = json.loads(cce_record.read_text())
        record["config"]["warmup"], record["key"] = 0, timed_cce.key()
        (Path(tmp) / "fashion_mnist").mkdir()
        (Path(tmp) / "fashion_mnist" / f"{timed_cce.name()}.json").write_text(json.dumps(record))
        for method in args.methods:
            config = timed(method, warmup=0)
            rec = run(config, results_dir=tmp, progress=False, stop_after=args.epochs,
                      force=method == "cce")  # CCE itself is timed, not loaded
            seconds = rec["history"]["seconds"]
            per_epoch[method] = sum(seconds) / len(seconds)
            print(f"{method:>10}: {per_epoch[method]:6.1f} s per epoch ({len(seconds)} timed)", flush=True)

    epochs, warmup = cpu.epochs, cpu.warmup
    cce = per_epoch.get("cce")
    print(f"\n{torch.get_num_threads()} threads; estimated wall time of one `cpu` run ({epochs} epochs, warm-up "
          f"{warmup} for VAT/WAT):")
    for method, s in per_epoch.items():
        warm = warmup if method in ("vat", "wat01", "watc") and cce is not None else 0
        total = warm * cce + (epochs - warm) * s if warm else epochs * s
        ratio = f", {s / cce:.2f} x CCE's epoch" if cce else ""
        print(f"{method:>10}: {total / 60:5.1f} min{ratio}")


if __name__ == "__main__":
    main()
