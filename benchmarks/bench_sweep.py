"""Wall time of a small sweep run locally (one run after the other) and as Ray tasks.

Four short CPU runs on real Fashion-MNIST (the `smoke` preset, with more training images
and epochs than the smoke test so that a run takes seconds, not a fraction of one), in the
same process and on fresh temporary results folders:

* ``executor="local"``: the four runs one after the other, with ``--local-threads`` torch
  threads (default: every core, what ``python -m watlib train`` does);
* ``executor="ray"``: the four runs as Ray tasks on a local Ray instance of ``--workers``
  workers with one thread each (``cpus_per_run=1``). The time includes starting and stopping
  the instance and its workers' imports, as a sweep from the command line pays them.

The ratio local / Ray is the speed-up a sweep gets from running runs side by side instead
of giving each run every core. Each run's per-epoch history is compared between the two
executors too: equal when the thread counts are equal (``--local-threads 1``).

Run on an otherwise idle machine: ``python benchmarks/bench_sweep.py [--workers 2] [--epochs 4]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import torch

from watlib.sweep import run_many

METHODS = ["cce", "bootsoft", "vat", "watc"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--local-threads", type=int, default=os.cpu_count())
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--train-size", type=int, default=4000)
    p.add_argument("--methods", nargs="+", default=METHODS)
    args = p.parse_args(argv)
    from watlib.ot import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)  # WAT at a few epochs: not what is timed here
    settings = dict(preset="smoke", epochs=args.epochs, train_size=args.train_size, milestones=(args.epochs,),
                    progress=False)
    n = len(args.methods)

    times, records = {}, {}
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        torch.set_num_threads(args.local_threads)
        t0 = time.perf_counter()
        records["local"] = run_many("fashion_mnist", 0.4, args.methods, seeds=[0], results_dir=f"{tmp}/local",
                                    **settings)
        times["local"] = time.perf_counter() - t0
        torch.set_num_threads(threads)
        print(f"local: {n} runs one after the other, {args.local_threads} thread(s): {times['local']:.1f} s",
              flush=True)

        t0 = time.perf_counter()
        records["ray"] = run_many("fashion_mnist", 0.4, args.methods, seeds=[0], results_dir=f"{tmp}/ray",
                                  executor="ray", workers=args.workers, cpus_per_run=1, **settings)
        times["ray"] = time.perf_counter() - t0
        print(f"ray:   {n} runs on {args.workers} worker(s) of 1 thread (start and stop of Ray included): "
              f"{times['ray']:.1f} s", flush=True)

    train = {k: sum(sum(r["history"]["seconds"]) for r in recs) for k, recs in records.items()}
    print(f"\nsum of the runs' epoch times: local {train['local']:.1f} s, ray {train['ray']:.1f} s "
          f"(per run, Ray's epochs are {train['ray'] / train['local']:.2f} x the local ones)")
    same = all({k: v for k, v in a["history"].items() if k != "seconds"}
               == {k: v for k, v in b["history"].items() if k != "seconds"}
               for a, b in zip(records["local"], records["ray"]))
    print(f"histories equal between the executors: {same}"
          + ("" if args.local_threads == 1 else " (not expected: the thread counts differ)"))
    print(f"speed-up of the sweep, local / ray: {times['local'] / times['ray']:.2f} x")


if __name__ == "__main__":
    main()
