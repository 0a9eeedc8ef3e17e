"""The GPU check: the figures a lent GPU should give, in one script of under five minutes.

Four sections, each printed as it ends (and all of them saved as JSON with ``--out``):

1. ``solvers``: watlib's Sinkhorn to 1e-4 (float32, training's setting of the first study) and
   Newton to 1e-6 on WAT-like synthetic batches (K = 10: near, peaked and far pairs with the 0-1
   cost; K = 100: near pairs), and on WAT's own pairs when ``benchmarks/wat_pairs.pt`` is there
   (``bench_solvers.py`` makes it): iterations, milliseconds per solve (the device synchronised)
   and the ratio of the two.
2. ``steps``: one optimisation step (loss, backward, Adam) of CCE, VAT, WAT_0-1 and WAT_C at the
   paper's preset (CNN9 at width 1, batch 256, inputs in Fashion-MNIST's shape), WAT with training's
   Sinkhorn and with Newton; median milliseconds.
3. ``epochs``: two epochs of WAT_C at the paper's Fashion-MNIST preset with the regularizer on from
   the first epoch (``warmup=0``), through :func:`watlib.train.run`, on the real data when it is
   found (``--data-root``; nothing is trained on anything else: the section is skipped, and says so).
4. ``chapter``: ``papermill book/cifar.ipynb`` at ``SMOKE_TEST=1`` (the chapter writes and reads
   its generated CIFAR files) with ``-p device`` set to the device.

    python benchmarks/gpu_check.py --out gpu_check.json            # on the GPU
    python benchmarks/gpu_check.py --device cpu --tiny             # a minute on a CPU (the test)

``--tiny`` shrinks every section (batches of 16, width 1/16, 64 training images) so that the
script's every path runs on a CPU in CI; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from watlib import paper
from watlib.costs import class_names, word_vector_cost, zero_one_cost
from watlib.methods import make_method
from watlib.models import CNN9
from watlib.ot import ConvergenceWarning, ot_loss
from watlib.ot_settings import STUDY_OT, TRAIN_OT

ROOT = Path(__file__).resolve().parents[1]
PAIRS = Path(__file__).with_name("wat_pairs.pt")
SECTIONS = ("solvers", "steps", "epochs", "chapter")
NEWTON = TRAIN_OT  # training's default
SINKHORN = STUDY_OT  # the first study's


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_ms(fn, device, repeats):
    fn()  # warm-up (kernels, allocator)
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _pairs(batch, k, kind, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = 4 * torch.randn(batch, k, generator=g)
    if kind == "near":
        z2 = z + 0.05 * torch.randn(batch, k, generator=g)
    elif kind == "peaked":
        z = 3 * z
        z2 = z + 0.3 * torch.randn(batch, k, generator=g)
    else:
        z2 = 4 * torch.randn(batch, k, generator=g)
    return z.softmax(-1).to(device), z2.softmax(-1).to(device)


def solvers(device, tiny, repeats):
    batch = 16 if tiny else 256
    cases = [(f"K=10 0-1 {kind}", *_pairs(batch, 10, kind, device), zero_one_cost(10, device=device))
             for kind in ("near", "peaked", "far")]
    cases.append(("K=100 0-1 near", *_pairs(batch, 100, "near", device), zero_one_cost(100, device=device)))
    if PAIRS.exists() and not tiny:
        data = torch.load(PAIRS, weights_only=False)
        cases += [(f"WAT pairs {cost}", *(t.to(device) for t in data[cost])) for cost in ("0-1", "WAT_C")]
    rows = []
    for label, a, b, C in cases:
        a, b, C = a.float(), b.float(), C.float()
        row = {"batch": label}
        for arm, settings in (("sinkhorn 1e-4", dict(solver="sinkhorn", max_iter=200_000, tol=1e-4)),
                              ("newton 1e-6", dict(solver="newton", max_iter=100, tol=1e-6))):
            def solve():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    return ot_loss(a, b, C, paper.REG, grad="implicit", return_diagnostics=True, **settings)
            _, diag = solve()
            row[arm] = {"iterations": diag.iterations, "violation": diag.max_violation,
                        "ms": _median_ms(solve, device, repeats)}
        row["sinkhorn / newton"] = row["sinkhorn 1e-4"]["ms"] / row["newton 1e-6"]["ms"]
        rows.append(row)
        print(f"  {label:>18}: Sinkhorn {row['sinkhorn 1e-4']['iterations']:>6} it "
              f"{row['sinkhorn 1e-4']['ms']:8.2f} ms | Newton {row['newton 1e-6']['iterations']:>3} steps "
              f"{row['newton 1e-6']['ms']:8.2f} ms | ratio {row['sinkhorn / newton']:6.2f}", flush=True)
    return rows


def steps(device, tiny, repeats):
    width, batch = (1 / 16, 16) if tiny else (1.0, paper.BATCH_SIZE)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    costs = {"wat01": zero_one_cost(10), "watc": word_vector_cost(class_names("fashion_mnist"))}
    arms = {"cce": make_method("cce"), "vat": make_method("vat", warmup=0)}
    for name, cost in costs.items():
        for solver, settings in (("sinkhorn", SINKHORN), ("newton", NEWTON)):
            arms[f"{name} {solver}"] = make_method(name, warmup=0, cost=cost, ot=settings)
    out = {}
    for name, method in arms.items():
        torch.manual_seed(0)
        (model,) = method.build(lambda: CNN9(1, 10, width=width))
        model.to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=paper.LR)

        def step():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                loss = method.loss([model], x, y, epoch=paper.WARMUP)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        out[name] = _median_ms(step, device, repeats)
        print(f"  {name:>14}: {out[name]:8.2f} ms a step", flush=True)
    for name in costs:
        out[f"{name} newton / sinkhorn"] = out[f"{name} newton"] / out[f"{name} sinkhorn"]
    out["wat01 / watc (newton)"] = out["wat01 newton"] / out["watc newton"]
    return out


def epochs(device, tiny, data_root):
    from watlib import DatasetNotFoundError
    from watlib.data import load_dataset
    from watlib.train import make_config, run

    try:
        load_dataset("fashion_mnist", root=data_root, train=False, download=False)
    except DatasetNotFoundError as err:
        print(f"  skipped: real Fashion-MNIST not found ({str(err).splitlines()[0]})", flush=True)
        return {"skipped": "real Fashion-MNIST not found"}
    sizes = dict(preset="smoke", train_size=64, test_size=64, batch_size=16, width=1 / 16) if tiny else dict(
        preset="paper")
    config = make_config("fashion_mnist", 0.4, "watc", seed=0, epochs=2, warmup=0, **sizes)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        record = run(config, results_dir=tmp, checkpoint_dir=tmp, device=device, data_root=data_root, progress=False)
        seconds = time.perf_counter() - t0
    history = record["history"]
    out = {"config": config.name(), "seconds": seconds, "test_acc": history["test_acc"],
           "ot_iterations_mean": history.get("ot_iterations_mean"), "ot_violation_max": history.get("ot_violation_max")}
    print(f"  {config.name()}: {seconds:.1f} s for 2 epochs, test accuracy {history['test_acc']}", flush=True)
    return out


def chapter(device):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cifar.ipynb"
        args = [sys.executable, "-m", "papermill", str(ROOT / "book" / "cifar.ipynb"), str(out),
                "--cwd", str(ROOT / "book"), "-p", "device", device.type]
        t0 = time.perf_counter()
        done = subprocess.run(args, env={**os.environ, "SMOKE_TEST": "1"}, capture_output=True, text=True,
                              timeout=600)
        seconds = time.perf_counter() - t0
    result = {"returncode": done.returncode, "seconds": seconds}
    if done.returncode:
        result["stderr_tail"] = done.stderr[-2000:]
    print(f"  cifar chapter at SMOKE_TEST on {device.type}: exit {done.returncode} in {seconds:.1f} s", flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="shrink every section (the CPU test)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 10, 2 with --tiny)")
    parser.add_argument("--data-root", default=None, help="where Fashion-MNIST is (watlib's search by default)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch sees no CUDA device (use --device cpu for a dry run)")
    repeats = args.repeats or (2 if args.tiny else 10)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"gpu_check on {name}, torch {torch.__version__}{' (tiny: numbers mean nothing)' if args.tiny else ''}")
    report = {"device": name, "torch": torch.__version__, "tiny": args.tiny}
    t0 = time.perf_counter()
    for section in args.sections:
        print(f"[{section}]", flush=True)
        if section == "solvers":
            report[section] = solvers(device, args.tiny, repeats)
        elif section == "steps":
            report[section] = steps(device, args.tiny, repeats)
        elif section == "epochs":
            report[section] = epochs(device, args.tiny, args.data_root)
        else:
            report[section] = chapter(device)
    report["seconds"] = time.perf_counter() - t0
    print(f"done in {report['seconds']:.0f} s")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1, default=float))
    failed = report.get("chapter", {}).get("returncode", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
