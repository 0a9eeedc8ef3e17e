"""Classification run records shaped as ``watlib.train.run`` writes them, for the tests of the
tables (test_results) and the figures (test_plot_runs) built from records."""

import numpy as np

from watlib.methods import METHODS
from watlib.train import accuracy_summary


def run_record(method, seed, acc, dataset="fashion_mnist", noise=0.4, wall=600.0, device="cpu: x86_64, 2 threads",
               preset="cpu"):
    """One record (its metric from the training code's own summary)."""
    config = {"dataset": dataset, "noise": noise, "method": method, "seed": seed, "preset": preset,
              "epochs": len(acc), "width": 0.25, "train_size": 4000}
    return {"config": config, "history": {"epoch": list(range(1, len(acc) + 1)), "test_acc": list(acc)},
            "metric": accuracy_summary(acc) if acc else None, "device": device, "wall_time_s": wall, "n_train": 4000,
            "complete": True}


def sweep(dataset="fashion_mnist", noise=0.4):
    """Every method of Table 2, three seeds for CCE, VAT and the two WATs, smooth noisy curves."""
    rng = np.random.default_rng(0)
    epochs = np.arange(1, 31)
    records = []
    for k, method in enumerate(METHODS):
        for seed in ((0, 1, 2) if method in ("cce", "vat", "wat01", "watc") else (0,)):
            acc = 60 + 20 * np.sin(np.pi * epochs / (20 + k)) + rng.normal(0, 1, len(epochs))
            records.append(run_record(method, seed, acc.tolist(), dataset, noise, wall=float(300 + 60 * k + seed)))
    return records
