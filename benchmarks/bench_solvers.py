"""Iterations, wall time and operator calls of Newton's method against Sinkhorn, to a tolerance.

First version (issue 20): synthetic batches shaped like WAT's pairs (a softmax prediction and a
nearby one: ``near``, ``peaked``; and unrelated ``far`` pairs), K = 10 with the 0-1 cost and with
a random cost of mean 0.44 (WAT_C's mean off-diagonal value), and K = 100 with the 0-1 cost; reg
0.05, float64, one thread, the forward solve only. For each batch: watlib's Sinkhorn to 1e-4
(training's setting of the first study) and to 1e-6, Newton to 1e-6 and 1e-8, and POT's
``solve_batch`` (log domain) to 1e-6; the ratio of each one's median time to Newton's at 1e-6 is
printed in the same run. Operator calls are the ``aten::`` calls that ``torch.profiler`` records
for one solve (on a GPU each is at least one kernel launch).

    python benchmarks/bench_solvers.py                  # the table
    python benchmarks/bench_solvers.py --Ks 10 --repeats 1 --no-pot

Not yet here (issue 20 keeps them open): WAT's own pairs from a trained CNN9 on real
Fashion-MNIST, and the backward pass.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

from watlib.ot import ConvergenceWarning, ot_loss


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


def solve_ours(a, b, C, reg, solver, tol, max_iter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, diag = ot_loss(a, b, C, reg, max_iter=max_iter, tol=tol, solver=solver, grad="implicit",
                          return_diagnostics=True)
    return diag.iterations, diag.max_violation


def solve_pot(a, b, C, reg, tol, max_iter):
    import ot

    res = ot.solve_batch(C.expand(a.shape[0], *C.shape), reg, a, b, max_iter=max_iter, tol=tol,
                         method="log_sinkhorn")
    T = res.plan
    return None, float((T.sum(-2) - b).abs().sum(-1).max())


def timed(fn, repeats):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def operator_calls(fn):
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sum(e.count for e in prof.key_averages() if e.key.startswith("aten::"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--Ks", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--reg", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pot", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    arms = [("sinkhorn", 1e-4, 200_000), ("sinkhorn", 1e-6, 200_000), ("newton", 1e-6, 100), ("newton", 1e-8, 100)]
    print(f"B = {args.batch}, reg = {args.reg}, float64, one thread; time: median of {args.repeats}; "
          f"ratio: that arm's time over Newton's at 1e-6")
    print(f"{'K':>4} {'cost':>5} {'pairs':>7} {'solver':>9} {'tol':>6} {'iters':>7} {'viol':>9} "
          f"{'ms':>9} {'ratio':>7} {'op calls':>9}")
    for k in args.Ks:
        for cost in (("0-1", "mean0.44") if k <= 10 else ("0-1",)):
            C = make_cost(k, cost)
            for kind in ("near", "peaked", "far"):
                a, b = make_pairs(args.batch, k, kind)
                rows = []
                for solver, tol, mi in arms:
                    fn = lambda: solve_ours(a, b, C, args.reg, solver, tol, mi)  # noqa: E731
                    (iters, viol), sec = timed(fn, args.repeats)
                    calls = None if args.no_profile else operator_calls(fn)
                    rows.append((solver, tol, iters, viol, sec, calls))
                if not args.no_pot:
                    fn = lambda: solve_pot(a, b, C, args.reg, 1e-6, 200_000)  # noqa: E731
                    (iters, viol), sec = timed(fn, 1)
                    rows.append(("POT log", 1e-6, iters, viol, sec, None))
                ref = rows[2][4]
                for solver, tol, iters, viol, sec, calls in rows:
                    print(f"{k:>4} {cost:>5} {kind:>7} {solver:>9} {tol:>6.0e} {iters if iters is not None else '-':>7} "
                          f"{viol:>9.1e} {sec * 1e3:>9.1f} {sec / ref:>7.1f} {calls if calls is not None else '-':>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
