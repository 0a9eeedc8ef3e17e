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
alike. The ratio is POT's median over ours.

    python benchmarks/bench_ot.py --Ks 10 100 --batch 256 --iters 100 --repeats 5

On a machine shared with other processes, the BLAS threads of tiny matrix products can
wait for a busy core; ``--threads 1`` gives steadier figures there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import ot
import torch

from watlib.ot import ot_loss


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
    """Median wall time (seconds) of each closure, runs interleaved round by round."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--Ks", type=int, nargs="+", default=[10, 100], help="numbers of classes")
    parser.add_argument("--batch", type=int, default=256, help="pairs per call (B)")
    parser.add_argument("--iters", type=int, default=100, help="Sinkhorn iterations, both solvers")
    parser.add_argument("--reg", type=float, default=0.05, help="entropic regularization")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch.set_num_threads for the run (0: leave torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, POT {ot.__version__}, torch.get_num_threads() = "
          f"{torch.get_num_threads()}; B = {args.batch}, {args.iters} iterations (tol = 0), "
          f"reg = {args.reg}, float32, CPU; forward + backward w.r.t. b; median of "
          f"{args.repeats} runs after {args.warmup} warm-up runs")
    print(f"machine: {os.cpu_count()} CPUs, load average over the last minute "
          f"{os.getloadavg()[0]:.1f} (other processes slow both solvers, and more so with "
          f"more threads than free cores)")
    print(f"{'K':>4} {'unrolled ms':>12} {'implicit ms':>12} {'POT ms':>10} {'POT/unrolled':>13} "
          f"{'POT/implicit':>13}   agreement (max abs difference)")
    for k in args.Ks:
        a, b, C = make_problem(k, args.batch, args.seed)
        fns = runners(a, b, C, args.reg, args.iters)
        out = {name: fn() for name, fn in fns.items()}
        ref_loss, ref_grad = converged(a, b, C, args.reg)
        t = time_interleaved(fns, args.warmup, args.repeats)
        print(f"{k:>4} {t['unrolled'] * 1e3:>12.2f} {t['implicit'] * 1e3:>12.2f} {t['pot'] * 1e3:>10.1f} "
              f"{t['pot'] / t['unrolled']:>13.1f} {t['pot'] / t['implicit']:>13.1f}   "
              f"loss ours-POT {(out['unrolled'][0] - out['pot'][0]).abs().max().item():.1e}, "
              f"unrolled-implicit {(out['unrolled'][0] - out['implicit'][0]).abs().max().item():.1e}",
              flush=True)
        for name in ("unrolled", "implicit", "pot"):
            loss_err = (out[name][0].double() - ref_loss).abs().max().item()
            grad_err = (centered(out[name][1]).double() - ref_grad).abs().max().item()
            print(f"{'':>4} {name:>9}: distance to the converged loss {loss_err:.1e}, "
                  f"to the converged (centered) gradient w.r.t. b {grad_err:.1e}")
    print("Ours and POT run the same number of iterations from different starting points "
          "(ours u = a, v-update first; POT's batched log-Sinkhorn u-update first), so where "
          f"{args.iters} iterations do not converge their values differ by about their "
          "distances to the converged problem, printed above.")


if __name__ == "__main__":
    main()
