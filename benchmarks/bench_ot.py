"""Speed of ``watlib.ot.ot_loss`` against POT's batched Sinkhorn, forward plus backward.

The workload is WAT's: B pairs of K-class histograms, one shared K x K cost, the loss
summed and differentiated with respect to the target histograms b (the prediction at the
adversarial point). Both solvers run the SAME number of iterations (``tol=0``: no early
stop), in float32 on the CPU, in this process. The peer is

    ot.solve_batch(C.expand(B, K, K), reg, a, b, max_iter=n, tol=0,
                   method="log_sinkhorn", grad="autodiff").value_linear

(POT's 'envelope' gradient gives nothing for a or b, so 'autodiff' is the only peer that
differentiates WAT's loss). Each timing is the median of ``--repeats`` runs after
``--warmup`` runs; ours and POT's runs are interleaved so that a busy machine slows both
alike; each timed run follows an untimed run of the same solver, so that neither solver's
freed memory is released inside the other's timed call (see :func:`time_interleaved`). The
ratio is POT's median over ours.

Every table is printed for each thread count of ``--threads`` (default: 1, then torch's
default), in this one process, so that the figures at two thread counts are minutes, not
hours, apart; the last lines compare ours at torch's default thread count with ours at one
thread (``watlib.ot`` runs small solves on one intra-op thread, so they should match).
``--busy N`` keeps N other processes spinning on the CPU while timing (what a machine
shared with a test run looks like), to show what extra threads cost there;
``--serial-work 0`` lets ours use torch's threads, for comparison.

    python benchmarks/bench_ot.py --Ks 10 100 --batch 256 --iters 100 --repeats 5
    python benchmarks/bench_ot.py --threads 1 2 --busy 1
    python benchmarks/bench_ot.py --Ks 100 --serial-work 0 --busy 1

At K = 10 a hundred iterations leave the plans unconverged (the distances to the converged
problem are printed); the ConvergenceWarnings this raises are silenced here.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
import warnings

import ot
import torch

import watlib._sinkhorn as kernels
import watlib.ot as wot
from watlib.ot import ConvergenceWarning, ot_loss


def make_problem(k, batch, seed):
    """Random predictions (softmax of Gaussian logits) and a symmetric cost in [0, 1] with zero diagonal."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.softmax(torch.randn(batch, k, generator=gen), dim=-1)
    b = torch.softmax(torch.randn(batch, k, generator=gen), dim=-1)
    C = torch.rand(k, k, generator=gen)
    C = (C + C.T) / 2
    C.fill_diagonal_(0)
    return a, b, C


def runners(a, b0, C, reg, iters):
    """Closures running forward + backward w.r.t. b; each returns (loss per pair, grad of b)."""

    def ours(grad):
        def run():
            b = b0.clone().requires_grad_(True)
            loss = ot_loss(a, b, C, reg=reg, max_iter=iters, tol=0, grad=grad)
            loss.sum().backward()
            return loss.detach(), b.grad
        return run

    def pot():
        b = b0.clone().requires_grad_(True)
        res = ot.solve_batch(C.expand(a.shape[0], -1, -1), reg, a, b, max_iter=iters, tol=0,
                             method="log_sinkhorn", grad="autodiff")
        res.value_linear.sum().backward()
        return res.value_linear.detach(), b.grad

    return {"unrolled": ours("unrolled"), "implicit": ours("implicit"), "pot": pot}


def time_interleaved(fns, warmup, repeats):
    """Median wall time (seconds) of each closure, runs interleaved round by round.

    Each solver is timed in its own steady state: before every timed run come an untimed run
    of the same closure, a full garbage collection and another untimed run (to warm the
    caches the collection swept), and the collector is off while the clock runs (as
    ``timeit`` does). Without this, the memory one solver frees was released inside the next
    solver's timed call: POT's autodiff graph at K = 100 (2.8 GB) is freed when the cyclic
    collector happens to run, and glibc returns it to the system at a later ``free``, which
    cost our call 0.2 s of kernel time (220 ms instead of 19).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            fn()
            gc.collect()
            fn()
            gc.disable()
            try:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return {name: statistics.median(t) for name, t in times.items()}


def centered(g):
    """Gradients w.r.t. a histogram matter up to a constant per pair (its sum is fixed)."""
    return g - g.mean(-1, keepdim=True)


def converged(a, b0, C, reg):
    """Loss and centered gradient w.r.t. b of the converged problem, in float64."""
    b = b0.double().requires_grad_(True)
    loss = ot_loss(a.double(), b, C.double(), reg=reg, max_iter=100000, tol=1e-12, grad="implicit")
    loss.sum().backward()
    return loss.detach(), b.grad


def agreement(k, a, b, C, reg, iters):
    """How far each solver's loss and gradient are from each other and from the converged problem."""
    out = {name: fn() for name, fn in runners(a, b, C, reg, iters).items()}
    _, diag = ot_loss(a, b, C, reg=reg, max_iter=iters, tol=0, return_diagnostics=True)
    ref_loss, ref_grad = converged(a, b, C, reg)
    print(f"{k:>4}  loss ours-POT {(out['unrolled'][0] - out['pot'][0]).abs().max().item():.1e}, "
          f"unrolled-implicit {(out['unrolled'][0] - out['implicit'][0]).abs().max().item():.1e}; "
          f"ours: largest column-marginal violation after {iters} iterations {diag.max_violation:.1e}")
    for name in ("unrolled", "implicit", "pot"):
        loss_err = (out[name][0].double() - ref_loss).abs().max().item()
        grad_err = (centered(out[name][1]).double() - ref_grad).abs().max().item()
        print(f"{'':>4} {name:>9}: distance to the converged loss {loss_err:.1e}, "
              f"to the converged (centered) gradient w.r.t. b {grad_err:.1e}")


def spin(n):
    """Start ``n`` processes that keep a core busy; returns them (terminate when done)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--Ks", type=int, nargs="+", default=[10, 100], help="numbers of classes")
    parser.add_argument("--batch", type=int, default=256, help="pairs per call (B)")
    parser.add_argument("--iters", type=int, default=100, help="Sinkhorn iterations, both solvers")
    parser.add_argument("--reg", type=float, default=0.05, help="entropic regularization")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="torch.set_num_threads for each table (0: torch's default); "
                             "default: 1, then torch's default")
    parser.add_argument("--busy", type=int, default=0, help="other processes spinning while timing")
    parser.add_argument("--serial-work", type=int, default=None,
                        help="override watlib.ot.SERIAL_WORK (0: let ours use torch's threads)")
    args = parser.parse_args(argv)
    if args.serial_work is not None:
        wot.SERIAL_WORK = args.serial_work
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    default_threads = torch.get_num_threads()
    threads = [t or default_threads for t in (args.threads or [1, 0])]

    print(f"torch {torch.__version__}, POT {ot.__version__}; B = {args.batch}, {args.iters} iterations "
          f"(tol = 0), reg = {args.reg}, float32, CPU; forward + backward w.r.t. b; median of "
          f"{args.repeats} runs after {args.warmup} warm-up runs")
    print(f"machine: {os.cpu_count()} CPUs, torch's default {default_threads} threads, load average over "
          f"the last minute {os.getloadavg()[0]:.1f}; {args.busy} spinning processes while timing")
    print(f"watlib.ot: one intra-op thread up to n m B = {wot.SERIAL_WORK}, oneDNN products from "
          f"n m B = {kernels.ONEDNN_WORK} ({'available' if kernels.onednn_ok() else 'not available'})")
    problems = {k: make_problem(k, args.batch, args.seed) for k in args.Ks}
    print("\nagreement (max abs difference), independent of threads:")
    for k, (a, b, C) in problems.items():
        agreement(k, a, b, C, args.reg, args.iters)
    print("Ours and POT run the same number of iterations from different starting points "
          "(ours u = a, v-update first; POT's batched log-Sinkhorn u-update first), so where "
          f"{args.iters} iterations do not converge their values differ by about their "
          "distances to the converged problem, printed above.")

    busy = spin(args.busy)
    results = {}
    try:
        for n in threads:
            torch.set_num_threads(n)
            print(f"\ntorch.get_num_threads() = {torch.get_num_threads()}")
            print(f"{'K':>4} {'unrolled ms':>12} {'implicit ms':>12} {'POT ms':>10} {'POT/unrolled':>13} "
                  f"{'POT/implicit':>13}")
            for k, (a, b, C) in problems.items():
                t = time_interleaved(runners(a, b, C, args.reg, args.iters), args.warmup, args.repeats)
                results[n, k] = t
                print(f"{k:>4} {t['unrolled'] * 1e3:>12.2f} {t['implicit'] * 1e3:>12.2f} {t['pot'] * 1e3:>10.1f} "
                      f"{t['pot'] / t['unrolled']:>13.1f} {t['pot'] / t['implicit']:>13.1f}", flush=True)
    finally:
        for proc in busy:
            proc.terminate()
        torch.set_num_threads(default_threads)
    if 1 in threads and default_threads in threads and default_threads != 1:
        print(f"\nours at {default_threads} threads / ours at 1 thread (<= 1: no slower with more threads):")
        for k in args.Ks:
            print(f"{k:>4} unrolled {results[default_threads, k]['unrolled'] / results[1, k]['unrolled']:.2f}, "
                  f"implicit {results[default_threads, k]['implicit'] / results[1, k]['implicit']:.2f}")


if __name__ == "__main__":
    main()
