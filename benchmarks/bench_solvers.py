"""Iterations, wall time and operator calls of Newton's method against Sinkhorn, to a tolerance.

Two kinds of batch, reg 0.05, one thread, the forward solve (and, on WAT's pairs, forward and
implicit backward):

* **WAT's own pairs**: the predictions at x and at x + r_adv of the regularizer, for 256 real
  Fashion-MNIST training images, from a CNN9 at the end of the ``cpu`` preset's warm-up (12
  epochs of WAT_0-1 on 4,000 images with 40% symmetric noise, seed 0), with the 0-1 cost and with
  WAT_C's cost (GloVe distances). r_adv is found with each cost's own divergence. The script
  trains that model once (a few minutes on one thread) and saves the pairs, and the model for
  ``bench_step.py``, to ``--pairs``; later runs load them. The pairs are float32, as training passes them.
* **synthetic** batches shaped like them (``near``, ``peaked``; and unrelated ``far`` pairs), K = 10
  with the 0-1 cost and a random cost of mean 0.44 (WAT_C's mean off-diagonal value), and K = 100
  with the 0-1 cost, in float64.

Arms: watlib's Sinkhorn to 1e-4 (the first study's training setting; on WAT's pairs in float32
as there, and in float64) and to 1e-6, Newton to 1e-4, 1e-6 and 1e-8, POT's ``solve_batch`` to
1e-6 (log and scaling domain, WAT's pairs only, ``--no-pot`` skips it). ``ratio`` is each arm's
median time over Newton's at 1e-6, measured in the same run.

``ops`` counts the operator calls that would launch a kernel on a GPU, from the ``aten::`` calls
that ``torch.profiler`` records for one solve: an operator whose callees launch nothing counts
as one, calls that only make views or allocate (``view``, ``expand``, ``empty``, ...) and the
host-side scalars that ``torch.where`` wraps around Python numbers count as none. On a GPU each launch costs several microseconds
whatever the batch, so this figure, not the CPU time, sets Sinkhorn's cost there.

    python benchmarks/bench_solvers.py                        # everything (makes the pairs once)
    python benchmarks/bench_solvers.py --only synthetic --Ks 10 --repeats 1 --no-pot
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch

from watlib.ot import ConvergenceWarning, ot_loss

REG = 0.05
PAIRS = Path(__file__).with_name("wat_pairs.pt")
# operator calls that make views, allocate or read metadata: no kernel on a GPU
NO_KERNEL = {
    "aten::view", "aten::unsqueeze", "aten::squeeze", "aten::expand", "aten::expand_as", "aten::as_strided",
    "aten::reshape", "aten::_reshape_alias", "aten::select", "aten::slice", "aten::t", "aten::transpose",
    "aten::permute", "aten::diagonal", "aten::alias", "aten::detach", "aten::empty", "aten::empty_like",
    "aten::empty_strided", "aten::resolve_conj", "aten::resolve_neg", "aten::lift_fresh", "aten::result_type",
    "aten::_unsafe_view", "aten::unbind", "aten::split", "aten::narrow", "aten::view_as", "aten::squeeze_",
    "aten::unsqueeze_", "aten::detach_", "aten::scalar_tensor", "aten::numpy_T", "aten::matrix_H", "aten::mT",
    "aten::to",  # a leaf aten::to returned its input (a copy shows as _to_copy / copy_ below it)
}


def make_pairs(batch, k, kind, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = 4 * torch.randn(batch, k, generator=g, dtype=torch.float64)
    if kind == "near":
        z2 = z + 0.05 * torch.randn(batch, k, generator=g, dtype=torch.float64)
    elif kind == "peaked":
        z = 3 * z
        z2 = z + 0.3 * torch.randn(batch, k, generator=g, dtype=torch.float64)
    else:
        z2 = 4 * torch.randn(batch, k, generator=g, dtype=torch.float64)
    return z.softmax(-1), z2.softmax(-1)


def make_cost(k, kind):
    if kind == "0-1":
        return 1 - torch.eye(k, dtype=torch.float64)
    g = torch.Generator().manual_seed(k)
    C = torch.rand(k, k, generator=g, dtype=torch.float64)
    C = (C + C.T) / 2
    C.fill_diagonal_(0)
    return C * (0.44 / C[~torch.eye(k, dtype=torch.bool)].mean())


def make_wat_pairs(path, batch=256):
    """Train the warm-up of a WAT_0-1 run (cpu preset) and save WAT's pairs for both costs."""
    from watlib.adversarial import adversarial_perturbation, frozen_batchnorm, wasserstein
    from watlib.costs import class_names, word_vector_cost, zero_one_cost
    from watlib.data import load_dataset
    from watlib.models import CNN9
    from watlib.ot_settings import STUDY_OT
    from watlib.records import provenance
    from watlib.train import make_config, run

    config = make_config("fashion_mnist", 0.4, "wat01", preset="cpu", seed=0, ot="study")
    print(f"training {config.name()} for its {config.warmup} warm-up epochs (once; saved to {path})")
    with tempfile.TemporaryDirectory() as tmp:
        run(config, results_dir=tmp, checkpoint_dir=tmp, stop_after=config.warmup)
        state = torch.load(Path(tmp) / f"{config.name()}.pt", weights_only=False)
    data = load_dataset("fashion_mnist", train=True)
    model = CNN9(data.x.shape[1], 10, width=config.width)
    model.load_state_dict(state["models"][0])
    model.train()  # as the regularizer sees it during training (batch norm frozen below)
    g = torch.Generator().manual_seed(0)
    x = data.x[torch.randperm(len(data.x), generator=g)[:batch]]
    out = {"provenance": provenance(), "config": config.name(), "epochs": state["epoch"],
           "model": {"width": config.width, "state_dict": state["models"][0]}}  # for bench_step.py
    for name, C in (("0-1", zero_one_cost(10)), ("WAT_C", word_vector_cost(class_names("fashion_mnist")))):
        torch.manual_seed(0)
        div = wasserstein(C, STUDY_OT.replace(reg=REG))  # the committed pairs' direction search
        with frozen_batchnorm(model):
            r = adversarial_perturbation(model, x, divergence=div)
            with torch.no_grad():
                out[name] = (model(x).softmax(-1), model(x + r).softmax(-1), C)
    torch.save(out, path)
    return out


def solve_ours(a, b, C, reg, solver, tol, max_iter, backward=False):
    if backward:
        a = a.detach().requires_grad_()
        b = b.detach().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loss, diag = ot_loss(a, b, C, reg, max_iter=max_iter, tol=tol, solver=solver, grad="implicit",
                             return_diagnostics=True)
    if backward:
        loss.sum().backward()
    return diag.iterations, diag.max_violation


def solve_pot(a, b, C, reg, tol, max_iter, method):
    import ot

    res = ot.solve_batch(C.expand(a.shape[0], *C.shape), reg, a, b, max_iter=max_iter, tol=tol, method=method)
    return None, float((res.plan.sum(-2) - b).abs().sum(-1).max())


def timed(fn, repeats):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def kernel_calls(fn):
    """Leaf operator calls of ``fn()`` that would launch a kernel (see the module docstring)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()

    def launches(e):
        # an operator whose callees launch nothing is one kernel itself; a view or an allocation
        # is none; a wrapped host scalar (and what fills it) is none
        if e.name == "aten::scalar_tensor":
            return 0
        inner = sum(launches(c) for c in e.cpu_children if c.name.startswith("aten::"))
        return inner if inner or e.name in NO_KERNEL else 1

    return sum(launches(e) for e in prof.events()
               if e.name.startswith("aten::") and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))


def bench(label, a, b, C, arms, repeats, profile_ops):
    rows = []
    for name, fn in arms:
        pot = name.startswith("POT")  # seconds a solve, on NumPy: once, and no operator calls
        (iters, viol), sec = timed(lambda: fn(a, b, C), 1 if pot else repeats)
        calls = kernel_calls(lambda: fn(a, b, C)) if profile_ops and not pot else None
        rows.append((name, iters, viol, sec, calls))
    ref = next(sec for name, *_, sec, _ in rows if name == "newton 1e-6")
    for name, iters, viol, sec, calls in rows:
        print(f"{label:>22} {name:>18} {iters if iters is not None else '-':>7} {viol:>9.1e} {sec * 1e3:>9.1f} "
              f"{sec / ref:>7.1f} {calls if calls is not None else '-':>9}")


def ours(solver, tol, max_iter, dtype=torch.float64, backward=False):
    def fn(a, b, C):
        return solve_ours(a.to(dtype), b.to(dtype), C.to(dtype), REG, solver, tol, max_iter, backward)
    return fn


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("wat", "synthetic"), default=None)
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--Ks", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pot", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sk = 200_000
    print(f"reg = {REG}, one thread; ms: median of {args.repeats}; ratio: over Newton's time at 1e-6; "
          f"ops: kernel-launching operator calls per solve")
    print(f"{'batch':>22} {'arm':>18} {'iters':>7} {'viol':>9} {'ms':>9} {'ratio':>7} {'ops':>9}")
    if args.only != "synthetic":
        data = torch.load(args.pairs, weights_only=False) if args.pairs.exists() else make_wat_pairs(args.pairs)
        for cost in ("0-1", "WAT_C"):
            a, b, C = data[cost]
            arms = [("sinkhorn 1e-4 f32", ours("sinkhorn", 1e-4, sk, torch.float32)),
                    ("sinkhorn 1e-4", ours("sinkhorn", 1e-4, sk)), ("sinkhorn 1e-6", ours("sinkhorn", 1e-6, sk)),
                    ("newton 1e-4", ours("newton", 1e-4, 100)), ("newton 1e-6", ours("newton", 1e-6, 100)),
                    ("newton 1e-8", ours("newton", 1e-8, 100)),
                    ("+bwd sinkhorn 1e-4", ours("sinkhorn", 1e-4, sk, torch.float32, backward=True)),
                    ("+bwd newton 1e-6", ours("newton", 1e-6, 100, torch.float32, backward=True))]
            if not args.no_pot:
                for method, short in (("log_sinkhorn", "log"), ("sinkhorn", "scaling")):
                    arms.append((f"POT {short} 1e-6", lambda a, b, C, m=method: solve_pot(
                        a.double(), b.double(), C.double(), REG, 1e-6, sk, m)))
            bench(f"WAT pairs, {cost}", a, b, C, arms, args.repeats, not args.no_profile)
    if args.only != "wat":
        arms = [("sinkhorn 1e-4", ours("sinkhorn", 1e-4, sk)), ("sinkhorn 1e-6", ours("sinkhorn", 1e-6, sk)),
                ("newton 1e-6", ours("newton", 1e-6, 100)), ("newton 1e-8", ours("newton", 1e-8, 100))]
        for k in args.Ks:
            for cost in (("0-1", "mean0.44") if k <= 10 else ("0-1",)):
                C = make_cost(k, cost)
                for kind in ("near", "peaked", "far"):
                    a, b = make_pairs(args.batch, k, kind)
                    bench(f"K={k} {cost} {kind}", a, b, C, arms, args.repeats, not args.no_profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
