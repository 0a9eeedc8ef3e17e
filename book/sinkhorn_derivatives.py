# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Sinkhorn and its derivatives
#
# WAT's regulariser compares two class histograms, the detached prediction $\hat
# p_\theta(x)$ and the prediction at the adversarial point $p_\theta(x + r^a)$, by the linear
# term of an entropic optimal transport plan (Eq. 5 of {cite:t}`damodaran2020wat`), and
# training needs its gradient with respect to the second histogram at every step. This
# chapter takes apart what {py:mod}`watlib.ot` computes for that: the entropic problem, Sinkhorn's
# iterations and how fast they converge, why the paper uses the linear term instead of the
# regularised value, and two ways of differentiating the result, through the unrolled
# iterations (the paper's way) or implicitly at the optimum, with their accuracy and their
# cost in time and memory.
#
# Every number below is computed in this notebook by {py:func}`watlib.ot.sinkhorn` and
# {py:func}`watlib.ot.ot_loss`, checked against POT {cite:p}`flamary2021pot` where POT has an answer.

# %% tags=["parameters"]
k = 10
batch = 256
seed = 0
logit_scale = 3.0
perturbation = 0.5
regs = [0.01, 0.05, 0.1, 0.5]
iteration_grid = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
reg_grid = [0.01, 0.015, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0]
n_exact_pairs = 32
grad_reg = 0.05
grad_pair = 0
fd_step = 1e-6
cost_iters = [5, 10, 20, 50, 100, 200, 500]
newton_reg = 0.05
newton_steps = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24]
timing_repeats = 7

# %% tags=["hide-cell"]
import os

SMOKE_TEST = os.environ.get("SMOKE_TEST")
if SMOKE_TEST:
    iteration_grid = [1, 2, 5, 10, 20, 50, 100, 200]
    reg_grid = [0.05, 0.1, 0.2, 0.5, 1.0]
    timing_repeats = 2

# %% tags=["hide-cell"]
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import ot
import pandas as pd
import torch
from IPython.display import display
from matplotlib.colors import LogNorm

from watlib.ot import ConvergenceWarning, ot_loss, sinkhorn
from watlib.plot import plot_matrix

# This chapter stops Sinkhorn early on purpose, to measure how far from convergence a number
# of iterations leaves it; the warning watlib gives for every such call is silenced here.
warnings.simplefilter("ignore", ConvergenceWarning)

# K = 10 problems are far below the size where a second thread helps; one thread also keeps
# the timings below from depending on what else runs on the machine.
torch.set_num_threads(1)
F64 = torch.float64
CONVERGED = dict(max_iter=200000, tol=1e-12)  # float64 solves run (nearly) to round-off
pd.set_option("display.width", 120)

# %% [markdown]
# ## The entropic problem and Sinkhorn's iterations
#
# For histograms $a, b$ on $K$ classes and a ground cost $C \in \mathbb{R}_+^{K\times K}$,
# the optimal transport cost is $W_C(a, b) = \min_{T \in U(a, b)} \langle T, C\rangle$ over
# the couplings $U(a, b) = \{T \ge 0: T\mathbf{1} = a,\ T^\top\mathbf{1} = b\}$ (Eq. 3). The
# paper, after {cite:t}`cuturi2013sinkhorn`, solves the entropic problem instead (Eq. 4):
#
# $$
# T^*_\lambda = \mathop{\arg\min}_{T \in U(a, b)} \langle T, C\rangle - \lambda H(T),
# \qquad H(T) = -\sum_{ij} T_{ij}\log T_{ij}.
# $$
#
# Setting the derivative of the Lagrangian $\langle T, C\rangle - \lambda H(T) - \langle f,
# T\mathbf{1} - a\rangle - \langle g, T^\top\mathbf{1} - b\rangle$ to zero gives $C_{ij} +
# \lambda(\log T_{ij} + 1) - f_i - g_j = 0$, so the solution is a diagonal scaling of the
# kernel $K = e^{-C/\lambda}$:
#
# $$
# T^*_\lambda = \mathrm{diag}(u)\, K\, \mathrm{diag}(v), \qquad u = e^{f/\lambda - 1/2},\
# v = e^{g/\lambda - 1/2}.
# $$
#
# Sinkhorn's algorithm finds $u, v$ by fitting one marginal at a time, $v \leftarrow b
# \oslash K^\top u$, then $u \leftarrow a \oslash K v$. For a batch of $B$ pairs and one cost
# shared by the batch, each half-step is a single $(K \times K)$ by $(K \times B)$ matrix
# product, which is what makes the loss cheap enough for every training step. When $\max
# C/\lambda$ is so large that $K$ underflows (about 30 in float32), {py:mod}`watlib.ot` runs the same
# iterations on $\log u, \log v$ with log-sum-exp {cite:p}`peyre2019computational`; both give
# the same iterates.

# %% [markdown]
# ## A batch like WAT's
#
# The cost comes from $K$ = `k` classes placed at random in the plane: $C$ is their Euclidean
# distance divided by its maximum, so it has a zero diagonal and entries in $[0, 1]$, the range
# of the paper's costs (which, unlike this metric, give the largest cost to the most similar
# classes, see the chapter on the ground cost; Sinkhorn only sees the numbers). The histograms imitate what WAT compares: $a$ is a
# confident prediction, the softmax of logits `logit_scale` $\cdot\, z$, and $b$ the
# prediction after a small perturbation of the logits, the softmax of `logit_scale` $\cdot\,
# z + $ `perturbation` $\cdot\, \delta$, with $z, \delta$ standard normal. Everything is in
# float64 so that the numbers below show the algorithm, not the rounding.

# %%
rng = np.random.default_rng(seed)
positions = rng.normal(size=(k, 2))
distance = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
C = torch.tensor(distance / distance.max())
z = rng.normal(size=(batch, k))
delta = rng.normal(size=(batch, k))
a = torch.softmax(torch.tensor(logit_scale * z), dim=-1)
b = torch.softmax(torch.tensor(logit_scale * z + perturbation * delta), dim=-1)
print("ground cost C (rounded):")
print(C.numpy().round(2))
print(f"mean total variation 0.5 |a - b|_1 over the {batch} pairs: "
      f"{0.5 * (a - b).abs().sum(-1).mean().item():.3f}")

# %% [markdown]
# ## Convergence
#
# After the last $u$-update the rows of the plan are exact, so the error that is left is on
# the columns. {numref}`fig-sinkhorn-violation` shows its worst case over the batch,
# $\max_b \|T_b^\top\mathbf{1} - b_b\|_1$, after a given number of iterations (each point is a fresh call of
# {py:func}`~watlib.ot.sinkhorn` with `tol=0`, which runs exactly `max_iter` iterations), for several $\lambda$. The dashed
# lines mark the paper's fixed 20 iterations and `watlib`'s default cap of 100.

# %% mystnb={"figure": {"caption": "Worst column-marginal violation of the batch after a given number of Sinkhorn iterations, for several values of the regularization; dashed: the paper's 20 and the default cap.", "name": "fig-sinkhorn-violation"}}
violation = {
    reg: [(sinkhorn(a, b, C, reg=reg, max_iter=n, tol=0).sum(-2) - b).abs().sum(-1).max().item()
          for n in iteration_grid]
    for reg in regs
}
fig, ax = plt.subplots(figsize=(6.5, 4))
for reg, errors in violation.items():
    ax.loglog(iteration_grid, np.maximum(errors, 1e-17), marker="o", ms=3, label=f"$\\lambda$ = {reg}")
for n, label in ((20, "paper: 20"), (100, "default cap: 100")):
    ax.axvline(n, color="gray", ls="--", lw=0.8)
    ax.text(n * 1.08, 2e-16, label, fontsize=8, color="gray", rotation=90, va="bottom")
ax.set_xlabel("Sinkhorn iterations")
ax.set_ylabel(r"worst L1 column error $\max_b \|T_b^\top 1 - b_b\|_1$")
ax.set_title(f"Convergence on {batch} WAT-like pairs, K = {k} (float64)")
ax.legend()
plt.show()

# %% [markdown]
# The convergence is linear (a straight line against iterations on a linear axis) and slows
# down sharply as $\lambda$ shrinks: in the worst case Sinkhorn's map contracts Hilbert's
# projective metric by $\tanh(\log\eta/4)^2$ per iteration, with $\eta \le e^{2\max
# C/\lambda}$ (Section 4.2 of {cite:t}`peyre2019computational`), a factor that tends to 1
# exponentially fast as $\lambda \to 0$. The table reads the curves at the paper's 20
# iterations, at the default 100, and gives the first point of the grid where the error is
# below 1e-6.

# %% tags=["nbval-ignore-output"]
# the iteration grid is shorter in the smoke run
def first_below(errors, threshold=1e-6):
    hits = [n for n, e in zip(iteration_grid, errors) if e < threshold]
    return hits[0] if hits else f"> {iteration_grid[-1]}"


table = pd.DataFrame({
    "lambda": regs,
    "error after 20": [f"{v[iteration_grid.index(20)]:.1e}" for v in violation.values()],
    "error after 100": [f"{v[iteration_grid.index(100)]:.1e}" for v in violation.values()],
    "iterations to 1e-6": [first_below(v) for v in violation.values()],
})
display(table)

# %% [markdown]
# At the paper's $\lambda = 0.05$ and 20 iterations the plan is far from the constraint set:
# the column marginals of the worst pair are still off by a sizeable fraction of the unit
# mass (the table), so the loss the paper trained with is that of a plan that transports only
# part of the way, not the entropic optimum. `watlib`
# stops as soon as the violation is below `tol` (checked every 10 iterations), with `max_iter`
# as a hard cap; the caller chooses between the paper's budget and a converged value.
#
# How $\lambda$ changes the plan, for the pair of the batch that moves the most mass (the
# largest total variation): its entropic plans and the exact plan of POT's network simplex
# (`ot.emd`), on a logarithmic colour scale (white: exactly zero). Small $\lambda$ gives a
# plan concentrated on a few routes, close to the exact one; large $\lambda$ spreads the mass
# towards the independent coupling $ab^\top$.

# %% mystnb={"figure": {"caption": "Entropic transport plans of one pair for several values of the regularization, and the exact plan of POT's network simplex (logarithmic colour scale, white: zero).", "name": "fig-sinkhorn-plans"}}
pair = int((a - b).abs().sum(-1).argmax())
plans = [(f"$\\lambda$ = {reg}", sinkhorn(a[pair], b[pair], C, reg=reg, **CONVERGED)) for reg in regs]
plans.append(("exact (ot.emd)", torch.tensor(ot.emd(a[pair].numpy(), b[pair].numpy(), C.numpy()), dtype=F64)))
norm = LogNorm(vmin=1e-5, vmax=1.0)
fig, grid = plt.subplots(2, 3, figsize=(6.8, 5.4), layout="constrained")  # five plans and the colour bar
axes = grid.flat[:len(plans)]
for ax, (title, T) in zip(axes, plans):
    plot_matrix(T, ax=ax, title=title, annotate=False, colorbar=False)
    ax.images[0].set_norm(norm)
    ax.set_title(title, fontsize=10)
for ax in grid[-1]:
    ax.set_xlabel("class of b (columns)", fontsize=9)
for ax in grid[:, 0]:
    ax.set_ylabel("class of a (rows)", fontsize=9)
grid.flat[-1].set_axis_off()
fig.colorbar(axes[-1].images[0], cax=grid.flat[-1].inset_axes([0.1, 0.05, 0.1, 0.9]), label="mass $T_{ij}$")
fig.suptitle(f"Plans of pair {pair} (total variation {0.5 * (a[pair] - b[pair]).abs().sum().item():.2f}): "
             "rows sum to a, columns to b", fontsize=10)
plt.show()

# %% [markdown]
# ## Why Sinkhorn is slow in WAT's regime, and what a Newton step does
#
# Eliminate the row potentials (every row marginal exact, as after a $u$-update) and what is
# left is a smooth convex function of the column log-scalings $\psi$, the semi-dual
#
# $$
# F(\psi) = \sum_i a_i \log \sum_j e^{-C_{ij}/\lambda + \psi_j} - \sum_j b_j \psi_j ,
# $$
#
# whose gradient is the column error $T^\top\mathbf{1} - b$ and whose Hessian is the
# Laplacian $\mathrm{diag}(T^\top\mathbf{1}) - \pi^\top\mathrm{diag}(a)\,\pi$, with $\pi$ the plan's
# rows normalised to sum to one. A $v$-update of Sinkhorn minimises $F$ in every $\psi_j$ at
# once as if the columns did not interact; the error then shrinks by the second eigenvalue of
# the Markov chain $\pi^\top$-then-$\pi$ between classes. WAT compares two nearby, peaked
# histograms with a cost that is large against $\lambda$ (the 0-1 cost at $\lambda = 0.05$:
# $e^{-1/\lambda} = 2 \times 10^{-9}$): the plan is nearly diagonal, the chain almost never leaves
# a class, its second eigenvalue is close to 1, and each iteration removes a tiny fraction of
# the error (the convergence figure above, for the smaller $\lambda$).
#
# Newton's method solves the $K \times K$ system of the Hessian for every pair instead (a
# batched Cholesky factorisation), and is invariant to the scaling that makes Sinkhorn slow.
# {py:func}`watlib.ot.ot_loss` and {py:func}`~watlib.ot.sinkhorn` take `solver="newton"`: thirty
# Sinkhorn iterations, then damped Newton steps (a line search on $F$, each pair stopping at
# its own `tol`), in float64 and the log domain, with the implicit gradient of the section
# below. {numref}`fig-newton-vs-sinkhorn` runs both on the batch above, with this chapter's distance cost and with the
# 0-1 cost, at the paper's $\lambda$ = `newton_reg`: each point is a fresh call with `tol=0`
# and that many iterations (Newton: steps).

# %% mystnb={"figure": {"caption": "Worst marginal violation against iterations (Sinkhorn) and steps (Newton) on the same batch, with the chapter's distance cost and with the 0-1 cost.", "name": "fig-newton-vs-sinkhorn"}}
newton_costs = {"distance cost": C, "0-1 cost": 1 - torch.eye(k, dtype=F64)}


def worst_violation(T):
    return (T.sum(-2) - b).abs().sum(-1).max().item()


curves = {}
for name, cost in newton_costs.items():
    curves[name, "Sinkhorn"] = (iteration_grid, [
        worst_violation(sinkhorn(a, b, cost, reg=newton_reg, max_iter=n, tol=0)) for n in iteration_grid])
    curves[name, "Newton"] = (newton_steps, [
        worst_violation(sinkhorn(a, b, cost, reg=newton_reg, max_iter=n, tol=0, solver="newton"))
        for n in newton_steps])
fig, ax = plt.subplots(figsize=(6.5, 4))
for (name, solver), (steps, errs) in curves.items():
    ax.loglog(steps, np.maximum(errs, 1e-17), marker="o" if solver == "Newton" else ".", ms=3,
              ls="-" if name == "distance cost" else "--", color="C0" if solver == "Newton" else "C1",
              label=f"{solver}, {name}")
ax.axhline(1e-6, color="gray", lw=0.8, ls=":")
ax.set_xlabel("iterations (Newton: steps)")
ax.set_ylabel(r"worst L1 column error")
ax.set_title(f"Sinkhorn and Newton on {batch} WAT-like pairs, K = {k}, $\\lambda$ = {newton_reg}", fontsize=10)
ax.legend(fontsize=9)
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %% [markdown]
# Newton's first steps are damped (the line search shortens them while the quadratic model
# is poor), then the error falls quadratically, to round-off within `newton_steps[-1]` steps,
# where Sinkhorn's falls by a constant factor per iteration. A step costs much more than an
# iteration: a $K \times K$ factorisation per pair and two or three passes over the batch, so
# on a CPU the gain in time is smaller than the gain in iterations. On a GPU, where every
# iteration is a few kernel launches whatever the batch, the number of operator calls is the
# cost; the table counts both on this batch, to `tol = 1e-6`
# (`benchmarks/bench_solvers.py` measures both solvers, and POT's, on WAT's own pairs).

# %% tags=["nbval-ignore-output"]
# timings depend on the machine
rows = []
for name, cost in newton_costs.items():
    for solver, cap in (("sinkhorn", CONVERGED["max_iter"]), ("newton", 100)):
        start = time.perf_counter()
        for _ in range(timing_repeats):
            _, diag = ot_loss(a, b, cost, newton_reg, max_iter=cap, tol=1e-6, solver=solver, grad="implicit",
                              return_diagnostics=True)
        rows.append({"cost": name, "solver": solver, "iterations": diag.iterations,
                     "ms per solve": 1e3 * (time.perf_counter() - start) / timing_repeats})
display(pd.DataFrame(rows).set_index(["cost", "solver"]).round(1))

# %% [markdown]
# ## Why the linear term (Eq. 5)
#
# The entropic problem has two natural values: the regularised value $W^\lambda_C =
# \langle T^*_\lambda, C\rangle - \lambda H(T^*_\lambda)$ (Eq. 4) and the linear term alone,
# $OT^\lambda_C = \langle T^*_\lambda, C\rangle$ (Eq. 5), which the paper uses. Both tend to
# $W_C$ as $\lambda \to 0$, but {cite:t}`luise2018differential` show that the linear term
# ("sharp" Sinkhorn) converges much faster: its error decays like $e^{-1/\lambda}$, against
# $O(\lambda)$ for the regularised value, whose entropy term alone is of order $\lambda \log
# K$. We check this on the first `n_exact_pairs` pairs, with converged float64 plans and
# the exact $W_C$ from `ot.emd2`, for the cost above and for the 0-1 cost, for which $W_C$
# is the total variation $\frac12\|a - b\|_1$ (Remark 2.26 of
# {cite:t}`peyre2019computational`).

# %%
a_few, b_few = a[:n_exact_pairs], b[:n_exact_pairs]
solve_tol = 1e-10  # marginal violation at which the solves stop
costs = {"distance cost": C, "0-1 cost": 1 - torch.eye(k, dtype=F64)}
exact = {name: torch.tensor([ot.emd2(x.numpy(), y.numpy(), cost.numpy()) for x, y in zip(a_few, b_few)],
                            dtype=F64)
         for name, cost in costs.items()}
rows = []
for name, cost in costs.items():
    for reg in reg_grid:
        T = sinkhorn(a_few, b_few, cost, reg=reg, max_iter=200000, tol=solve_tol)
        linear = (T * cost).sum((-2, -1))
        entropy = -(T * torch.log(torch.where(T > 0, T, 1))).sum((-2, -1))
        rows.append({"cost": name, "lambda": reg,
                     "linear term": (linear - exact[name]).abs().mean().item(),
                     "regularized value": (linear - reg * entropy - exact[name]).abs().mean().item()})
errors = pd.DataFrame(rows)
tv = 0.5 * (a_few - b_few).abs().sum(-1)
print("ot.emd2 with the 0-1 cost equals the total variation to 1e-12:",
      bool((exact["0-1 cost"] - tv).abs().max() < 1e-12))

# %% mystnb={"figure": {"caption": "Error of the linear term and of the regularized value against the exact Wasserstein distance, as the regularization shrinks, for both costs.", "name": "fig-entropic-bias"}}
fig, axes = plt.subplots(1, 2, figsize=(6.8, 3.6), sharey=True, layout="constrained")
for ax, (name, group) in zip(axes, errors.groupby("cost", sort=False)):
    for column, marker in (("linear term", "o"), ("regularized value", "s")):
        ax.loglog(group["lambda"], np.maximum(group[column], 1e-16), marker=marker, ms=4, label=column)
    ax.axhline(solve_tol, color="gray", ls=":", lw=1, label="accuracy of the solves (tol)")
    ax.set_title(f"{name}:\ndistance to the exact OT cost", fontsize=10)
    ax.set_xlabel(r"entropic regularization $\lambda$")
    ax.grid(True, which="both", alpha=0.3)
axes[0].set_ylabel(f"mean |value - ot.emd2| over {n_exact_pairs} pairs", fontsize=9)
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8, frameon=False)
plt.show()

# %% tags=["nbval-ignore-output"]
# the grid of lambda is shorter in the smoke run
wide = errors.pivot(index="lambda", columns="cost", values=["linear term", "regularized value"])
display(wide.map(lambda v: f"{v:.1e}"))

# %% [markdown]
# The linear term is closer to $W_C$ at every $\lambda$ (the table above). Its decay depends
# on the cost: for the 0-1 cost it is the exponential one of
# {cite:t}`luise2018differential`, a curve that bends down on log-log axes until it reaches
# the accuracy of the solves; for the distance cost, whose many nearly-equal transport
# routes make the exact problem close to degenerate, it falls roughly like $\lambda^2$ over
# this range, still much faster than the regularised value, which decays like $\lambda$ for
# both costs. The exponential regime of the bound needs $\lambda$ small against the gap
# between the best and the second-best vertex of the transport polytope, which a cost with
# nearly-equal routes does not have.

# %% [markdown]
# ## Two derivatives
#
# **Unrolled.** The paper differentiates "by fixing a number of Sinkhorn iterations"
# {cite:p}`genevay2018learning`: reverse-mode differentiation through the loop, which gives
# the exact derivative of the truncated algorithm, needs the iterates of every iteration
# (memory linear in the iterations), and differs from the derivative of the entropic optimum
# as long as the iterations have not converged. In `watlib` the reverse pass of the
# scaling-domain loop is written out by hand (two kernel products per iteration), which is
# the same derivative as autograd through the loop without its per-operation bookkeeping.
#
# **Implicit.** At the optimum, $T_{ij} = e^{(f_i + g_j - C_{ij})/\lambda}$ (the constant of
# the first section absorbed into $f$) with $T\mathbf 1
# = a$ and $T^\top\mathbf 1 = b$. Differentiating these conditions and solving the adjoint
# system gives, with the row and column conditionals $\pi = \mathrm{diag}(1/a)\,T$ and $Q =
# T\,\mathrm{diag}(1/b)$, and $c_a = (\pi \odot C)\mathbf 1$, $c_b = (Q \odot
# C)^\top\mathbf 1$ (the expected cost of each row and column),
#
# $$
# \begin{aligned}
# (I - Q^\top\pi)\,\beta &= c_b - Q^\top c_a, \qquad \alpha = c_a - \pi\beta,\\
# \nabla_a = \alpha,\quad \nabla_b &= \beta,\quad
# \nabla_C = T \odot \Big(1 + \frac{\alpha\oplus\beta - C}{\lambda}\Big).
# \end{aligned}
# $$
#
# $Q^\top\pi$ is a Markov chain on the classes of $b$, so $I - Q^\top\pi$ is singular along
# $\mathbf 1$: the potentials are defined up to $(\alpha + c, \beta - c)$, the same freedom
# as the gradient with respect to a histogram whose sum is fixed. `watlib` removes it by
# grounding one class and returns centred gradients; one $K\times K$ system per pair, solved
# by `torch.linalg.solve` in float64, whatever the number of iterations of the forward pass.
#
# The table compares, for one pair at the paper's $\lambda$ = `grad_reg`, the centred
# gradient with respect to $b$ from: unrolled differentiation of 20 iterations (the paper's
# budget), unrolled differentiation of a converged solve, implicit differentiation, and
# central finite differences of converged solves along $e_j - \frac1K\mathbf 1$ (a direction
# that keeps $b$ on the simplex, whose derivative is exactly the $j$-th centred component).

# %%
a0, b0 = a[grad_pair], b[grad_pair]


def centred(g):
    return g - g.mean(-1, keepdim=True)


def grad_b(**kwargs):
    x = b0.clone().requires_grad_(True)
    ot_loss(a0, x, C, reg=grad_reg, **kwargs).backward()
    return centred(x.grad)


def finite_difference(j, h=fd_step):
    direction = -torch.full((k,), 1.0 / k, dtype=F64)
    direction[j] += 1
    # a value off by the marginal violation would be off by violation / h in the quotient
    solve = dict(max_iter=200000, tol=1e-14)
    plus, minus = (ot_loss(a0, b0 + s * h * direction, C, reg=grad_reg, **solve) for s in (1, -1))
    return ((plus - minus) / (2 * h)).item()


gradients = pd.DataFrame({
    "unrolled, 20 it.": grad_b(grad="unrolled", max_iter=20, tol=0).numpy(),
    "unrolled, converged": grad_b(grad="unrolled", **CONVERGED).numpy(),
    "implicit": grad_b(grad="implicit", **CONVERGED).numpy(),
    "finite differences": [finite_difference(j) for j in range(k)],
})
gradients["unrolled - FD"] = gradients["unrolled, converged"] - gradients["finite differences"]
gradients["implicit - FD"] = gradients["implicit"] - gradients["finite differences"]
gradients.index.name = "class j"
display(gradients.round(6) + 0.0)  # + 0.0 turns a rounded -0.0 into 0.0
largest = gradients[["unrolled - FD", "implicit - FD"]].abs().max()
print(f"largest |converged derivative - finite difference|, rounded to 1e-6:\n  "
      f"unrolled {largest['unrolled - FD']:.6f}, implicit {largest['implicit - FD']:.6f}")
off_20 = (gradients["unrolled, 20 it."] - gradients["implicit"]).abs().max()
print(f"largest |unrolled after 20 iterations - implicit|: {off_20:.3f}")

# %% [markdown]
# Converged, the three agree to the precision of the finite differences (the differences
# round to 0 at 1e-6). After 20 iterations, the unrolled gradient is that of a different
# function, the loss of a plan that has not reached its constraints, and its components are
# off by the amount printed above: the paper trained with this gradient.
#
# ## What each derivative costs
#
# Memory is measured deterministically: the bytes of the distinct storages that autograd
# saves for the backward pass, counted with `torch.autograd.graph.saved_tensors_hooks` on the
# whole batch of `batch` pairs (float32, as in training), for a growing number of iterations
# (`tol=0`, so exactly that many). Time is the wall-clock time of forward plus backward,
# the best of `timing_repeats` runs on this machine (the run least disturbed by other
# processes).

# %%
a32, b32, C32 = a.float(), b.float(), C.float()


def run(mode, iters):
    x = b32.clone().requires_grad_(True)
    ot_loss(a32, x, C32, reg=grad_reg, max_iter=iters, tol=0, grad=mode).sum().backward()


def saved_bytes(mode, iters):
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    x = b32.clone().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = ot_loss(a32, x, C32, reg=grad_reg, max_iter=iters, tol=0, grad=mode).sum()
    loss.backward()
    return sum(storages.values())


memory = pd.DataFrame(
    {mode: [saved_bytes(mode, n) / 1024 for n in cost_iters] for mode in ("unrolled", "implicit")},
    index=pd.Index(cost_iters, name="iterations"),
)
per_iteration = np.diff(memory["unrolled"]) / np.diff(cost_iters)
print("KiB saved for backward, whole batch:")
display(memory.round(1))
print(f"unrolled: {per_iteration[0]:.1f} KiB per iteration = 4 vectors of {batch} x {k} float32 "
      f"({4 * batch * k * 4 / 1024:.1f} KiB)\nimplicit: constant")

# %% tags=["nbval-ignore-output"]
# wall-clock times
def best_time(mode, iters):
    run(mode, iters)  # warm-up
    times = []
    for _ in range(timing_repeats):
        start = time.perf_counter()
        run(mode, iters)
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


timing = pd.DataFrame(
    {mode: [best_time(mode, n) for n in cost_iters] for mode in ("unrolled", "implicit")},
    index=pd.Index(cost_iters, name="iterations"),
)
print(f"forward + backward, ms (best of {timing_repeats}, {torch.get_num_threads()} thread):")
display(timing.round(2))

# %% mystnb={"figure": {"caption": "Memory saved for the backward pass and wall time of forward plus backward against the iteration count, unrolled against implicit gradients.", "name": "fig-unrolled-vs-implicit"}} tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 2, figsize=(6.8, 3.4), layout="constrained")
for mode, marker in (("unrolled", "o"), ("implicit", "s")):
    axes[0].loglog(cost_iters, memory[mode], marker=marker, label=mode)
    axes[1].loglog(cost_iters, timing[mode], marker=marker, label=mode)
axes[0].set_ylabel("KiB saved for backward")
axes[0].set_title(f"Memory of the autograd graph,\nB = {batch}, K = {k}", fontsize=10)
axes[1].set_ylabel("ms, forward + backward")
axes[1].set_title(f"Wall-clock time, best of {timing_repeats} runs,\n{torch.get_num_threads()} thread(s)", fontsize=10)
for ax in axes:
    ax.set_xlabel("Sinkhorn iterations")
    ax.legend(fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
plt.show()

# %% [markdown]
# Unrolled differentiation stores four $B \times K$ vectors per iteration, so its memory
# grows linearly with the iterations; implicit differentiation stores the inputs and two
# potentials, whatever the number of iterations. In time both grow linearly with the
# iterations (the forward pass); the backward of the unrolled mode costs about twice its
# forward pass, the implicit backward is one batched $K \times K$ solve, a fixed cost.
# At the paper's 20 iterations the difference hardly matters; for a converged loss, the
# implicit gradient is both the cheaper and the correct one. (`benchmarks/bench_ot.py`
# compares both with POT's batched solver.)

# %% tags=["hide-input"]
# The three converged derivatives agree, and the unrolled one after 20 iterations does not.
assert largest.max() < 1e-6, largest
assert off_20 > 100 * largest.max()
# Sinkhorn's marginal error falls with the iterations, to round-off for the largest lambda.
for reg, errs in violation.items():
    assert errs[-1] < errs[0], reg
assert violation[max(regs)][-1] < 1e-12
# Newton reaches round-off within newton_steps on both costs; Sinkhorn, after 100 iterations, is
# still above 1e-3 on the 0-1 cost.
for name in newton_costs:
    assert curves[name, "Newton"][1][-1] < 1e-12, name
assert curves["0-1 cost", "Sinkhorn"][1][iteration_grid.index(100)] > 1e-3
# Eq. 5 is closer to the exact OT cost than the regularised value, for both costs and every lambda.
assert (errors["linear term"] < errors["regularized value"]).all()
# Unrolled memory is affine in the iterations, implicit memory is constant.
assert np.allclose(per_iteration, per_iteration[0]) and per_iteration[0] > 0
assert memory["implicit"].nunique() == 1
