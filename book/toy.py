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
# # A toy example: the geometry of the regularizers
#
# Figure 2 of the paper {cite:p}`damodaran2020wat` motivates WAT on a 2-D problem with three
# classes: *red* and *orange* are close to each other and share an intricate border, *black*
# is far from both, and a few points inside the red class carry the label black. Its top row
# maps each divergence $D(p_0, p)$ of the adversarial regularizer over the simplex of class
# probabilities; its bottom row shows the decision boundaries of a classifier trained with
# cross-entropy (CCE), with VAT {cite:p}`miyato2018vat` (KL, L2 and TV divergences) and with
# WAT (the entropic optimal transport loss of Eq. 5, $\lambda = 0.1$ and $0.05$).
#
# The paper reads the figure as follows: CCE is fooled by the black labels but follows the
# red/orange border; the VAT divergences are isotropic (moving probability toward orange or
# toward black costs the same), so VAT cleans the black labels but also smooths the
# red/orange border away; WAT with a ground cost that is *large* between the similar classes
# red and orange grows faster toward orange than toward black, "catches perfectly the
# complexity border between class red and class orange while correcting corrupted black
# labels" at $\lambda = 0.05$, and $\lambda$ trades smoothness for class information.
#
# This chapter rebuilds both rows with `watlib` and checks each of these statements with
# numbers: every classifier is trained on several independent draws of the data and of the
# initialisation, with a WAT regularizer whose optimal transport solves are converged, and
# every claim below says whether it holds in each draw. Everything is computed here, by
# {py:mod}`watlib.toy`, {py:mod}`watlib.adversarial` and {py:mod}`watlib.plot`.

# %% tags=["parameters"]
draws = 5
figure_draw = 0
n_per_class = 300
n_noisy = 20
hidden = [64, 64]
epochs = 250
warmup = 100
lr = 0.01
beta = 5.0
eps = 0.2
wat_regs = [0.1, 0.05]
dtype = "float64"
p0 = [0.6, 0.2, 0.2]
simplex_n = 90
simplex_max_iter = 20000
sweep_eps = [0.1, 0.2, 0.4]
sweep_beta = [1.0, 5.0]
beta_swap = 1.0

# %% tags=["hide-cell"]
import os

SMOKE_TEST = os.environ.get("SMOKE_TEST")
if SMOKE_TEST:
    draws = 2
    n_per_class, n_noisy = 60, 6
    epochs, warmup = 30, 20
    simplex_n = 16
    sweep_eps, sweep_beta = [0.1, 0.2], [5.0]

# %% tags=["hide-cell"]
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.colors import PowerNorm

from watlib.adversarial import kl, l2, tv, wasserstein
from watlib.costs import cost_from_matrix
from watlib.ot import MAX_ITER, WARN_VIOLATION, ConvergenceWarning, ot_loss
from watlib.ot_settings import STUDY_OT, OTSettings
from watlib.plot import plot_decision_boundary, plot_matrix, plot_simplex_loss
from watlib.toy import (TOY_CLASSES, TOY_COLORS, make_toy_data, summarize_draws, toy_cost, toy_regularizer,
                        train_toy_draws)

# The toy's tensors are tiny: every step is dominated by per-operation overhead, and one
# thread is several times faster than two fighting over the same small kernels.
torch.set_num_threads(1)
DTYPE = getattr(torch, dtype)
RED, ORANGE, BLACK = (TOY_CLASSES.index(c) for c in ("red", "orange", "black"))
SMALL_TEXT = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 8,
              "ytick.labelsize": 8, "legend.fontsize": 8}

# %% [markdown]
# ## The data
#
# {py:func}`watlib.toy.make_toy_data` draws red and orange uniformly in the box
# $[-2, 2] \times [-1.5, 1.5]$, on either side of the sine wave $x_2 = 0.5 \sin(\pi x_1)$:
# the two classes touch along a wavy border, which is the "complexity between class red and
# class orange". Black is a Gaussian blob centred at $(4, 0)$, two units from the box. The
# noisy labels are a compact Gaussian cluster (standard deviation 0.15) in the widest part of
# the red region, about one unit away from the border, labelled black; they are red points
# (`y_clean = 0`) with the label black (`y_noisy = 2`). Draw $d$ of the data is
# `make_toy_data(seed=d)`; the plots show draw `figure_draw`.

# %% tags=["nbval-ignore-output"]
x, y_noisy, y_clean = make_toy_data(n_per_class=n_per_class, n_noisy=n_noisy, seed=figure_draw)
x = x.to(DTYPE)
noisy = y_noisy != y_clean
counts = pd.DataFrame(
    {"clean labels": torch.bincount(y_clean, minlength=3).tolist(),
     "observed (noisy) labels": torch.bincount(y_noisy, minlength=3).tolist()},
    index=list(TOY_CLASSES),
)
print(f"x: {tuple(x.shape)} {x.dtype}; mislabelled: {int(noisy.sum())} red points labelled black")
counts

# %% mystnb={"figure": {"name": "fig-toy-data", "caption": "The toy data: the three classes as labelled, with the noisy cluster (red points labelled black) circled."}}
with plt.rc_context(SMALL_TEXT):
    fig, ax = plt.subplots(figsize=(6.8, 3.3))
    for k, (name, color) in enumerate(zip(TOY_CLASSES, TOY_COLORS)):
        sel = y_noisy == k
        ax.scatter(x[sel, 0], x[sel, 1], s=6, color=color, label=f"labelled {name}")
    ax.scatter(x[noisy, 0], x[noisy, 1], s=40, facecolors="none", edgecolors="#2ca02c", linewidths=0.8,
               label="mislabelled (red labelled black)")
    u = np.linspace(-2, 2, 200)
    ax.plot(u, 0.5 * np.sin(np.pi * u), color="0.4", linestyle="--", linewidth=1, label="red/orange border")
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"The toy (draw {figure_draw}): observed labels")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
    plt.show()

# %% [markdown]
# ## The ground cost
#
# The paper's cost ({py:func}`watlib.toy.toy_cost`; Section 4, "Discussions") is 5 between
# the similar classes red and orange and 1 between each of them and black. Note that it
# breaks the triangle inequality:
# $C_{\text{red},\text{orange}} = 5 > C_{\text{red},\text{black}} + C_{\text{black},\text{orange}} = 2$.
# Optimal transport moves mass directly from class to class, but when the prediction
# already holds some black mass, the cheapest way to move red mass to orange is to move red
# to black and the same amount of black to orange, at a cost of 2 per unit instead of 5; we
# will see this in the maps.

# %%
C = toy_cost(dtype=DTYPE)
print(C)

# %% [markdown]
# ## Top row: the divergences on the simplex
#
# Each map shows $v(p) = D(p_0, p)$ for every $p$ of a regular grid of the simplex (corners:
# red bottom left, orange bottom right, black on top), with white for zero and darker for
# bigger; the colour scale of each panel is its own and runs from 0 to its largest value
# (a square-root scale, so that the shape of the small values near $p_0$ stays visible). The
# paper does not give the coordinates of its green x; we take
# $p_0 = (0.6, 0.2, 0.2)$, a prediction that leans red and gives orange and black the same
# probability, so that any difference between the directions "toward orange" and "toward
# black" comes from the divergence and not from $p_0$. The WAT maps use
# {py:func}`watlib.adversarial.wasserstein` with enough Sinkhorn iterations
# (`simplex_max_iter`) to be converged (watlib warns when a solve stops above a marginal
# violation of $10^{-3}$; none does here). The maps do not depend on the data.

# %%
C64 = toy_cost(dtype=torch.float64)
divergences = {
    **{f"WAT, λ={r}": wasserstein(C64, OTSettings(reg=r, max_iter=simplex_max_iter)) for r in wat_regs},
    "TV": tv,
    "KL": kl,
    "L2": l2,
}
p0_t = torch.tensor(p0, dtype=torch.float64)


def towards(k, t):
    """p0 with mass t moved from red to class k."""
    return p0_t + t * (torch.eye(3, dtype=torch.float64)[k] - torch.eye(3, dtype=torch.float64)[RED])


steps = [0.05, 0.1, 0.2]
rows = {}
for name, D in divergences.items():
    row = {"at p0": float(D(p0_t[None], p0_t[None])[0])}
    for t in steps:
        for k in (ORANGE, BLACK):
            row[f"t={t} to {TOY_CLASSES[k]}"] = float(D(p0_t[None], towards(k, t)[None])[0])
    rows[name] = row
growth = pd.DataFrame(rows).T
growth.round(4)

# %% [markdown]
# The table gives $D(p_0, p_0 + t(e_k - e_{\text{red}}))$: the value after moving a mass $t$
# from red to orange or to black. KL, L2 and TV give the same value in both directions
# (KL and L2 are isotropic around $p_0$; TV is not isotropic, its level sets are hexagons,
# but it too treats orange and black alike). WAT does not: moving mass toward orange costs
# twice as much as toward black, $2t$ against $t$, the factor 2 and not 5 because of the
# red $\to$ black $\to$ orange route described above. The entropic bias at $p_0$ itself is
# of order $e^{-1/\lambda}$: $5 \cdot 10^{-5}$ at $\lambda = 0.1$, $2 \cdot 10^{-9}$ at
# $\lambda = 0.05$.

# %% [markdown]
# ## Bottom row: training with each regularizer
#
# Every classifier is the same MLP (`hidden` units, ReLU) trained by full-batch Adam
# (learning rate `lr`) on the noisy labels for `epochs` epochs, minimising Eq. 7,
# cross-entropy $+\ \beta \cdot$ regularizer, by {py:func}`watlib.toy.train_toy_classifier`.
# As in the paper, the regularizer is off for the first epochs (`warmup`; the paper uses 15
# epochs on images). The adversarial search is Algorithm 1 with $\xi = 10^{-6}$ and one
# power iteration. {py:func}`watlib.toy.train_toy_draws` trains every regularizer on each
# of `draws` draws: draw $d$ is the data of seed $d$ and the initialisation, the random
# directions and everything else random of seed $d$, so that within a draw every
# regularizer starts from the same network on the same points.
#
# Two settings have to be chosen for the toy. The radius $\varepsilon$ is the paper's
# $0.005$ for images scaled to $[-1, 1]$ with hundreds of dimensions; on this 2-D toy
# whose classes span units, $0.005$ does nothing, so we take $\varepsilon = 0.2$, about the
# radius of the noisy cluster. For $\beta$ we take the paper's VAT value, $\beta = 5$, and
# use the same $\beta$ and $\varepsilon$ for every regularizer; a sweep further down shows
# how VAT moves with both.
#
# ### A converged WAT regularizer
#
# WAT trains here with the first study's solver settings,
# {py:data}`watlib.ot_settings.STUDY_OT`: Sinkhorn runs until the largest column-marginal
# violation of the batch is below $10^{-4}$ (at most 50,000 iterations) and the gradient is
# that of the converged plan, by implicit differentiation. (Training's default,
# {py:data}`~watlib.ot_settings.TRAIN_OT` and that of {py:func}`watlib.toy.toy_regularizer`,
# is now Newton's method to $10^{-6}$, which reaches the same plans in a few steps: see
# [Differentiating Sinkhorn](sinkhorn_derivatives.ipynb). The toy keeps Sinkhorn, whose
# iterations the tables below count.) A first version of this chapter
# trained with the default of {py:func}`watlib.adversarial.wat_loss`, 100 iterations,
# which leaves the plans far from their marginals at $\max C/\lambda = 50$ and $100$: the
# table below trains WAT both ways on draw
# `figure_draw` and shows, for each run, the largest marginal violation of any epoch and
# the Sinkhorn iterations per step (mean and largest).
#
# At $\max C/\lambda = 100$ the kernel $e^{-C/\lambda}$ has entries of $e^{-100}$, below
# float32's normal range, so in float32 {py:func}`watlib.ot.ot_loss` switches to the log
# domain (log-sum-exp), while float64 keeps the cheaper scaling domain up to
# $\max C/\lambda \approx 280$. The toy therefore trains in float64 (`dtype`). The second
# table measures what the log domain costs: one solve of the regularizer's size (the 920
# predictions of a trained WAT model at its points against those at points moved by
# $\varepsilon$ in random directions) in each dtype, for a fixed number of iterations and
# to convergence.

# %% tags=["nbval-ignore-output"]
short = {f"WAT, λ={r}, {MAX_ITER} iterations": toy_regularizer("wat", eps, C=C, ot=OTSettings(reg=r, grad="unrolled"))
         for r in wat_regs}
settings = dict(n_per_class=n_per_class, n_noisy=n_noisy, beta=beta, epochs=epochs, warmup=warmup, lr=lr,
                hidden=hidden)
with warnings.catch_warnings():  # the violations are in the table
    warnings.simplefilter("ignore", ConvergenceWarning)
    short_scores = train_toy_draws(short, draws=[figure_draw], dtype=DTYPE, **settings)

# %% tags=["remove-stderr", "nbval-ignore-output"]
main_runs = {
    "CCE": None,
    **{f"WAT, λ={r}": toy_regularizer("wat", eps, C=C, ot=STUDY_OT.replace(reg=r)) for r in wat_regs},
    "TV": toy_regularizer("tv", eps),
    "KL": toy_regularizer("kl", eps),
    "L2": toy_regularizer("l2", eps),
}
scores, models = train_toy_draws(main_runs, draws=draws, dtype=DTYPE, return_models=True, **settings)

# %% tags=["nbval-ignore-output"]
DIAGNOSTICS = {"ot_violation_max": "worst violation", "ot_iterations_mean": "iterations / step (mean)",
               "ot_iterations_max": "iterations / step (max)", "seconds": "seconds",
               "red_orange": "red/orange points", "noisy_to_red": "noisy cluster → red"}
converged_wat = scores[scores["run"].str.startswith("WAT") & (scores["draw"] == figure_draw)]
before_after = pd.concat([short_scores, converged_wat]).set_index("run")[list(DIAGNOSTICS)]
before_after.index = [name if name in short else f"{name}, converged" for name in before_after.index]
before_after.rename(columns=DIAGNOSTICS).style.format(
    {"worst violation": "{:.1e}", "iterations / step (mean)": "{:,.0f}", "iterations / step (max)": "{:,.0f}",
     "seconds": "{:.1f}", "red/orange points": "{:.3f}", "noisy cluster → red": "{:.2f}"})

# %% tags=["nbval-ignore-output"]
wat = models[(f"WAT, λ={wat_regs[-1]}", figure_draw)]
with torch.no_grad():
    p_hat = torch.softmax(wat(x), dim=1)
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    p = torch.softmax(wat(x + eps * d / d.norm(dim=1, keepdim=True)), dim=1)


def timed(fn, repeat=3):
    """The value of fn() and its fastest wall-clock time over ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


fixed = 1000
solver_rows = {}
for dt, domain in ((torch.float32, "log domain"), (torch.float64, "scaling domain")):
    a, b, Cd = p_hat.to(dt), p.to(dt), C64.to(dt)
    with warnings.catch_warnings():  # a fixed number of iterations: judged by the violation in the table
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, t_fixed = timed(lambda: ot_loss(a, b, Cd, reg=wat_regs[-1], max_iter=fixed, tol=0.0))
        (loss, diag), t_conv = timed(lambda: ot_loss(a, b, Cd, reg=wat_regs[-1], max_iter=STUDY_OT.max_iter,
                                                     tol=STUDY_OT.tol, return_diagnostics=True), repeat=1)
    solver_rows[f"{str(dt).removeprefix('torch.')} ({domain})"] = {
        f"µs / iteration ({fixed} iterations)": 1e6 * t_fixed / fixed,
        "iterations to 1e-4": diag.iterations, "violation reached": diag.max_violation,
        "seconds to converge": t_conv, "OT loss (mean)": float(loss.mean())}
solver_cost = pd.DataFrame(solver_rows).T
ratio = solver_cost.iloc[0, 0] / solver_cost.iloc[1, 0]
print(f"B = {len(x)} pairs, K = 3, λ = {wat_regs[-1]}, max C / λ = {float(C64.max()) / wat_regs[-1]:.0f}:\n"
      f"  one log-domain iteration costs {ratio:.1f} scaling-domain iterations")
solver_cost.style.format({solver_cost.columns[0]: "{:.0f}", "iterations to 1e-4": "{:,.0f}",
                          "violation reached": "{:.1e}", "seconds to converge": "{:.2f}", "OT loss (mean)": "{:.5f}"})

# %% [markdown]
# With 100 iterations the plans miss their column marginals by up to about 0.2
# ($\lambda = 0.1$) and 0.5 ($\lambda = 0.05$) in L1, out of a total mass of 1: that
# regularizer is not the loss of Eq. 5. Run to convergence, every epoch of every WAT run of
# this chapter ends below watlib's threshold of $10^{-3}$ (the table after the scores, and
# the asserts at the end): at $\lambda = 0.1$ every step reaches the tolerance $10^{-4}$; at
# $\lambda = 0.05$ a few steps stop at the cap of 50,000 iterations with violations of a
# few $10^{-4}$, below the threshold, so no {py:class}`watlib.ot.ConvergenceWarning` is
# raised. The price is the
# number of iterations: thousands per step on average (the authors' released code ran a
# fixed 20), so that a converged WAT run costs ten to forty times a VAT run here.
#
# The log domain would multiply that again. At this size one log-domain iteration costs
# 20 to 40 scaling-domain ones (the table above is this run's measurement; three runs on
# the shared machine gave 22, 31 and 37), and both need the same number of iterations,
# so a converged WAT run at $\lambda = 0.05$ (about $1.3 \cdot 10^6$ iterations over its
# 150 regularized epochs) would take minutes in float32 instead of seconds in float64, more
# than this chapter's budget for all its runs. float64 costs nothing else here: the network
# has 4,500 parameters.

# %% [markdown]
# ## The scores over the draws
#
# {py:func}`watlib.toy.toy_scores` measures the accuracy against the clean labels on all
# points; "red/orange points" is the accuracy on the correctly labelled red and orange
# points (how well the wavy border is kept); "noisy cluster → red" is the fraction of the
# mislabelled cluster predicted red (1: the black labels were corrected, 0: the classifier
# learnt them); "red/orange → black" is the fraction of the red and orange points predicted
# black, a class that has no point near them. Each cell is the mean ± standard deviation
# over the draws ({py:func}`watlib.toy.summarize_draws`).

# %% tags=["nbval-ignore-output"]
COLUMNS = {"accuracy": "accuracy (clean labels)", "red_orange": "red/orange points", "black": "black points",
           "noisy_to_red": "noisy cluster → red", "red_orange_to_black": "red/orange → black"}
print(f"mean ± std over {scores['draw'].nunique()} draws")
summarize_draws(scores).rename(columns=COLUMNS)

# %% [markdown]
# The convergence of every WAT run, over all its regularized epochs and all draws: the
# largest marginal violation, the Sinkhorn iterations per step and the training time.

# %% tags=["nbval-ignore-output"]
wat_runs = scores[scores["run"].str.startswith("WAT")]
convergence = wat_runs.groupby("run", sort=False).agg(
    worst_violation=("ot_violation_max", "max"), iterations_mean=("ot_iterations_mean", "mean"),
    iterations_max=("ot_iterations_max", "max"), seconds=("seconds", "mean"))
convergence.columns = ["worst violation (all epochs, draws)", "iterations / step (mean)",
                       "iterations / step (max)", "seconds per run (mean)"]
CONVERGENCE_FORMAT = dict(zip(convergence.columns, ["{:.1e}", "{:,.0f}", "{:,.0f}", "{:.1f}"]))
convergence.style.format(CONVERGENCE_FORMAT)

# %% [markdown]
# ## Figure 2, rebuilt
#
# The top panels are the paper's top row: the ground cost $C$ of WAT and the five
# divergences on the simplex. The bottom panels are its bottom row, in the paper's order
# (CCE, WAT at $\lambda = 0.1$ and $0.05$, TV, KL, L2), for draw `figure_draw`; points are
# coloured by their observed labels and the mislabelled ones are circled in green.

# %% mystnb={"figure": {"name": "fig-toy-figure2", "caption": "The paper's Figure 2, rebuilt: the ground cost and the five divergences on the simplex (top); the decision regions of CCE, WAT at two regularizations, TV, KL and L2 (bottom)."}}
names = list(main_runs)
draw_scores = scores[scores["draw"] == figure_draw].set_index("run")
with plt.rc_context(SMALL_TEXT):
    fig = plt.figure(figsize=(6.8, 10.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.35])
    maps = top.subplots(2, 3)
    plot_matrix(C, labels=list(TOY_CLASSES), ax=maps[0, 0], title="ground cost $C$ (WAT)", cmap="Blues",
                fmt="{:.0f}", colorbar=False)
    simplex_values = {}
    for ax, name in zip(maps.flat[1:], names[1:]):
        plot_simplex_loss(divergences[name], p0, ax=ax, n=simplex_n, title=name, norm=PowerNorm(0.5), contours=5)
        simplex_values[name] = np.asarray(ax.collections[0].get_array())
    top.suptitle(f"$D(p_0, p)$ on the simplex, $p_0$ = green x = {tuple(p0)}")
    panels = bottom.subplots(3, 2)
    for ax, name in zip(panels.flat, names):
        s = draw_scores.loc[name]
        plot_decision_boundary(models[(name, figure_draw)], x, y_noisy, ax=ax, highlight=noisy, legend=False,
                               resolution=250,
                               title=f"{name}: red/orange {s['red_orange']:.3f}, noisy → red {s['noisy_to_red']:.2f}")
    for ax in panels[:-1].flat:
        ax.set_xlabel("")
    handles, labels = panels[0, 0].get_legend_handles_labels()
    bottom.legend(handles, ["labelled " + t for t in labels[:3]] + ["mislabelled"], loc="outside lower center",
                  ncol=4, frameon=False, markerscale=2)
    bottom.suptitle(f"Decision boundaries, draw {figure_draw} (β = {beta}, ε = {eps})")
    plt.show()

# %% [markdown]
# ## How sensitive is VAT to $\varepsilon$ and $\beta$?
#
# The VAT runs are cheap, so we repeat them over a small grid of radii and weights, on the
# same draws (the grid's point $\beta = 5$, $\varepsilon = 0.2$ is the run above). Each
# cell gives the accuracy on the red/orange points and, after the slash, the fraction of the
# noisy cluster predicted red, both as means over the draws.

# %% tags=["remove-stderr", "nbval-ignore-output"]
grid = [(div, b, e) for div in ("TV", "KL", "L2") for b in sweep_beta for e in sweep_eps]
sweep_runs = {f"{div}, β={b}, ε={e}": {"regularizer": toy_regularizer(div.lower(), e), "beta": b}
              for div, b, e in grid if (b, e) != (beta, eps)}
sweep_settings = {k: v for k, v in settings.items() if k != "beta"}
sweep_scores = train_toy_draws(sweep_runs, draws=draws, dtype=DTYPE, **sweep_settings)
shared = scores[scores["run"].isin(["TV", "KL", "L2"])].assign(run=lambda f: f["run"] + f", β={beta}, ε={eps}")
if any((b, e) == (beta, eps) for _, b, e in grid):
    sweep_scores = pd.concat([sweep_scores, shared], ignore_index=True)

# %% tags=["nbval-ignore-output"]
sweep_means = sweep_scores.groupby("run")[["red_orange", "noisy_to_red"]].mean()
cce = scores[scores["run"] == "CCE"][["red_orange", "noisy_to_red"]].mean()
table = {(div, f"β={b}"): {f"ε={e}": "{:.3f} / {:.2f}".format(*sweep_means.loc[f"{div}, β={b}, ε={e}"])
                           for e in sweep_eps}
         for div in ("TV", "KL", "L2") for b in sweep_beta}
print(f"CCE (no regularizer): {cce['red_orange']:.3f} / {cce['noisy_to_red']:.2f}")
pd.DataFrame(table).T

# %% [markdown]
# Larger $\beta$ and $\varepsilon$ move every divergence toward the cluster and away from the
# border. At $\beta = 5$, $\varepsilon = 0.4$ all three correct the whole cluster in every
# draw and keep the least of the border (0.927 to 0.941 on average); at $\beta = 1$,
# $\varepsilon \le 0.2$ they keep the most (0.980 to 0.988) and leave 19% to 67% of the
# cluster black. In between, TV at $\beta = 5$, $\varepsilon = 0.1$ corrects the whole cluster
# in every draw and keeps 0.976 of the border: where VAT's trade-off sits is a matter of
# tuning.

# %% [markdown]
# ## WAT at a smaller $\beta$, and with the cost the other way round
#
# The cost multiplies the regularizer: with entries up to 5, WAT at a given $\beta$ pushes
# harder than TV (whose cost is the 0-1 cost) at the same $\beta$. So we also train WAT
# ($\lambda = 0.05$) at $\beta$ = `beta_swap`, where its weight on red/black changes
# ($\beta \cdot C_{\text{red},\text{black}}$) is smaller than TV's at $\beta = 5$ and its
# weight on red/orange changes ($\beta \cdot C_{\text{red},\text{orange}}$) equals it. And
# since the analysis above suggests that a *large* red/orange cost can only smooth that
# border more, we also train WAT with the cost swapped, 1 between red and orange and 5
# between each of them and black: a cost that lets the prediction change cheaply across the
# red/orange border and expensively toward black. This swapped cost is our addition, not
# the paper's. Both train on the same draws, with converged solves.

# %% tags=["remove-stderr", "nbval-ignore-output"]
C_swapped = cost_from_matrix([[0.0, 1.0, 5.0], [1.0, 0.0, 5.0], [5.0, 5.0, 0.0]], dtype=DTYPE)
PAPER, SWAPPED = f"WAT, paper's C, β={beta_swap}", f"WAT, swapped C, β={beta_swap}"
extra_runs = {
    PAPER: {"regularizer": toy_regularizer("wat", eps, C=C, ot=STUDY_OT.replace(reg=wat_regs[-1])), "beta": beta_swap},
    SWAPPED: {"regularizer": toy_regularizer("wat", eps, C=C_swapped, ot=STUDY_OT.replace(reg=wat_regs[-1])), "beta": beta_swap},
}
extra_scores, extra_models = train_toy_draws(extra_runs, draws=draws, dtype=DTYPE, return_models=True,
                                             **settings)

# %% tags=["nbval-ignore-output"]
print("swapped cost:\n", C_swapped)
compared = pd.concat([scores[scores["run"].isin(["CCE", "TV", f"WAT, λ={wat_regs[-1]}"])], extra_scores])
summarize_draws(compared).rename(columns=COLUMNS)

# %% tags=["nbval-ignore-output"]
extra_convergence = extra_scores.groupby("run", sort=False).agg(
    worst_violation=("ot_violation_max", "max"), iterations_mean=("ot_iterations_mean", "mean"),
    iterations_max=("ot_iterations_max", "max"), seconds=("seconds", "mean"))
extra_convergence.columns = convergence.columns
extra_convergence.style.format(CONVERGENCE_FORMAT)

# %% mystnb={"figure": {"name": "fig-toy-swapped", "caption": "Decision regions of WAT with the paper's toy cost and with the cost swapped (cheap between red and orange, dear toward black)."}}
with plt.rc_context(SMALL_TEXT):
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.3), layout="constrained")
    for ax, name in zip(axes, extra_runs):
        s = extra_scores[extra_scores["draw"] == figure_draw].set_index("run").loc[name]
        plot_decision_boundary(extra_models[(name, figure_draw)], x, y_noisy, ax=ax, highlight=noisy, legend=False,
                               resolution=250,
                               title=f"{name}\nred/orange {s['red_orange']:.3f}, noisy → red {s['noisy_to_red']:.2f}")
    plt.show()

# %% [markdown]
# ## Each claim, draw by draw
#
# Every statement the conclusions below make about the trainings, checked in each draw
# (✓ where it holds). The comparisons are strict: a tie does not count as "more".

# %% tags=["nbval-ignore-output"]
every = pd.concat([scores, sweep_scores, extra_scores], ignore_index=True)
RO, NR, RB = (every.pivot(index="draw", columns="run", values=c) for c in ("red_orange", "noisy_to_red",
                                                                          "red_orange_to_black"))
VAT = ["TV", "KL", "L2"]
WAT = [f"WAT, λ={r}" for r in wat_regs]
TUNED = f"TV, β={max(sweep_beta)}, ε={min(sweep_eps)}"
claims = {
    "CCE learns most of the black labels (noisy → red < 0.5)": NR["CCE"] < 0.5,
    "CCE keeps more of the border than each of the five regularizers": RO["CCE"] > RO[WAT + VAT].max(axis=1),
    "TV, KL and L2 each correct at least 95% of the cluster": NR[VAT].min(axis=1) >= 0.95,
    "TV, KL and L2 each keep less of the border than CCE": RO[VAT].max(axis=1) < RO["CCE"],
    "WAT (each λ) corrects at least 95% of the cluster": NR[WAT].min(axis=1) >= 0.95,
    "WAT (each λ) corrects more of the cluster than the best of TV, KL, L2": NR[WAT].min(axis=1) > NR[VAT].max(axis=1),
    "WAT (each λ) keeps less of the border than each of TV, KL, L2": RO[WAT].max(axis=1) < RO[VAT].min(axis=1),
    "WAT (each λ) predicts black on more red/orange points than any VAT": RB[WAT].min(axis=1) > RB[VAT].max(axis=1),
    f"WAT at λ={wat_regs[0]} keeps more of the border than at λ={wat_regs[-1]}": RO[WAT[0]] > RO[WAT[-1]],
    f"{TUNED} corrects the whole cluster": NR[TUNED] == 1,
    f"{TUNED} keeps less of the border than CCE": RO[TUNED] < RO["CCE"],
    f"paper's C keeps more of the border at β={beta_swap} than at β={beta}": RO[PAPER] > RO[WAT[-1]],
    f"paper's C at β={beta_swap} corrects the whole cluster": NR[PAPER] == 1,
    f"swapped C keeps more of the border than paper's C (β={beta_swap})": RO[SWAPPED] > RO[PAPER],
    f"swapped C (β={beta_swap}) keeps more of the border than each of TV, KL, L2": RO[SWAPPED] > RO[VAT].max(axis=1),
    f"swapped C (β={beta_swap}) keeps more of the border than {TUNED}": RO[SWAPPED] > RO[TUNED],
    f"swapped C (β={beta_swap}) corrects the whole cluster": NR[SWAPPED] == 1,
}
checks = pd.DataFrame({claim: held.map({True: "✓", False: "✗"}) for claim, held in claims.items()}).T
checks.columns = [f"draw {d}" for d in checks.columns]
held_in = {claim: int(held.sum()) for claim, held in claims.items()}
checks["holds in"] = [f"{k} of {len(RO)}" for k in held_in.values()]
checks

# %% [markdown]
# ## What agrees with the paper, and what does not
#
# The numbers quoted here are those of the tables above: means ± standard deviations over
# the five draws of the full run at the default parameters, with WAT's optimal transport
# converged in every epoch of every run. "In every draw" means the claims table has a ✓ in
# each column.
#
# *The maps (top row) agree.* KL and L2 are isotropic around $p_0$ and TV, although its
# level sets are hexagons, treats orange and black alike: in the growth table the two
# directions give equal values for all three. The WAT loss grows faster from $p_0$ toward
# orange than toward black, as the paper says, by a factor 2 rather than 5 near $p_0$
# because the paper's cost breaks the triangle inequality. At these values $\lambda$ barely
# changes the maps: its main visible effect is a bias of order $e^{-1/\lambda}$ at $p_0$.
#
# *CCE agrees.* In every draw it keeps more of the wavy border than any of the five
# regularizers (red/orange accuracy 0.990 ± 0.003) and it learns most of the black labels
# inside red: only 0.31 ± 0.09 of the mislabelled cluster is predicted red. It is fooled by
# the noise.
#
# *VAT agrees, at the chapter's setting.* At $\beta = 5$, $\varepsilon = 0.2$ TV, KL and L2
# each correct at least 95% of the cluster and keep less of the border than CCE, in every
# draw (0.953 to 0.960 on average): the wave is flattened. The sweep qualifies this: the
# loss of border is a matter of tuning as much as of the divergence. TV at $\beta = 5$,
# $\varepsilon = 0.1$ corrects the whole cluster in every draw and keeps 0.976 ± 0.010 of
# the border, less than CCE in four draws of five; at $\beta = 1$ the three divergences keep
# more of the border (0.970 to 0.992) but, at $\varepsilon \le 0.2$, leave 19% to 67% of
# the cluster black.
#
# *WAT with the paper's cost does not agree, in our hands, also converged.* It corrects the
# black labels (all of them in every draw at $\lambda = 0.1$, 0.99 ± 0.02 at
# $\lambda = 0.05$), as VAT does but no better: in no draw does it correct more of the
# cluster than the best VAT divergence. And it keeps the red/orange border *worse* than VAT,
# not better: in every draw both WAT runs keep less of it than each of TV, KL and L2
# (0.912 ± 0.019 and 0.912 ± 0.024, against 0.953 to 0.960). Part of that loss is a thin
# black band that WAT draws between red and orange, far from any black point (the
# "red/orange → black" column, 0.037 and 0.039 on average; VAT predicts no red or orange
# point black in any draw, WAT does at $\lambda = 0.1$ in every draw and at
# $\lambda = 0.05$ in four of five). Both effects follow from the
# form of the loss. Around a confident red prediction, $OT_C$ charges
# $C_{\text{red},k}$ per unit of probability moved to class $k$: every red/orange change
# across the border costs 5 where TV charges 1, so the regularizer pulls harder toward a
# prediction that does not change across that border, which is smoothing; and since
# $C_{\text{red},\text{orange}} > C_{\text{red},\text{black}} + C_{\text{black},\text{orange}}$,
# the cheapest way for the prediction to go from red to orange is through black, hence the
# band. The paper's explanation, "the adversarial samples go toward the classes with small
# costs", does not rescue it: the power iteration looks for the direction in which the
# divergence grows fastest, which a large cost favours. The unconverged regularizer of
# 100 iterations, which this chapter first trained with, gave the same picture on draw
# `figure_draw` (the first table of the training section), so the finding does not come
# from the solver. Nor is $\beta$ the whole story: at $\beta = 1$ the paper's cost keeps
# more of the border than at $\beta = 5$ in every draw (0.949 ± 0.017), but it corrects the
# whole cluster in only three draws of five (0.86 ± 0.24).
#
# *The swapped cost does what the paper wants, in part.* With a cost of 1 between red and
# orange and 5 toward black, WAT at $\beta = 1$ keeps more of the border than the paper's
# cost at the same $\beta$ and more than each of TV, KL and L2 at the chapter's setting, in
# every draw (0.980 ± 0.009). It corrects the whole cluster in three draws of five
# (0.95 ± 0.07), and it keeps more of the border than the best-tuned VAT of the sweep (TV
# at $\beta = 5$, $\varepsilon = 0.1$) in three draws of five only: five draws do not
# separate the two. On this toy, a cost that is cheap between the classes whose border
# should stay complex and expensive toward the class whose labels should not be believed
# does better than the paper's cost, and about as well as a tuned VAT.
#
# *The $\lambda$ trade-off was not found.* $\lambda = 0.1$ and $0.05$ give similar maps and
# the same border on average (0.912 both); $\lambda = 0.1$ keeps more of it in two draws of
# five. The draws do not resolve a difference between them.
#
# The collapsed cell below (*Show code cell source* opens it) checks these statements against
# the tables: at the default parameters, the count of draws in which each claim holds and the
# means quoted; at both scales, what does not depend on the scale (every divergence is
# non-negative and zero at $p_0$, WAT's grows faster toward orange, every WAT run converged in
# every epoch while 100 iterations did not, every model beats chance).

# %% tags=["hide-input"]
for name, D in divergences.items():
    assert simplex_values[name].min() >= 0, name  # non-negative on the whole simplex grid
    assert growth.loc[name, "at p0"] < 1e-3, name  # zero at p0, up to the entropic bias
    for t in steps:
        to_orange, to_black = growth.loc[name, f"t={t} to orange"], growth.loc[name, f"t={t} to black"]
        assert to_orange > 0 and to_black > 0, name
        if name.startswith("WAT"):
            assert to_orange > 1.5 * to_black, name  # anisotropic: faster toward orange
        else:
            assert abs(to_orange - to_black) < 1e-12, name  # same in both directions
trained = pd.concat([scores, extra_scores], ignore_index=True)
assert set(trained["draw"]) == set(range(draws)) and len(RO) == draws
wat_rows = trained[trained["run"].str.startswith("WAT")]
assert (wat_rows["ot_violation_max"] < WARN_VIOLATION).all()  # converged in every epoch of every run
assert (short_scores["ot_violation_max"] > 10 * WARN_VIOLATION).all()  # 100 iterations are not
assert (every["accuracy"] > 1 / 3 + 0.2).all()  # far above chance
for (name, d), m in {**models, **extra_models}.items():
    assert m.history["ce"][-1] < m.history["ce"][0], (name, d)  # the cross-entropy term went down
if not SMOKE_TEST:  # the prose quotes the full run
    assert (scores.loc[scores["run"] == WAT[0], "ot_violation_max"] <= STUDY_OT.tol).all()
    assert (scores.loc[scores["run"] == WAT[-1], "ot_violation_max"] > STUDY_OT.tol).any()
    assert short_scores["ot_violation_max"].between(0.1, 0.6).all()
    assert (short_scores["red_orange"] < RO.loc[figure_draw, VAT].min()).all()  # the same picture as converged
    assert (short_scores["noisy_to_red"] >= 0.9).all()
    stated = [5, 5, 5, 5, 5, 0, 5, 4, 2, 5, 4, 5, 3, 5, 5, 3, 3]
    assert list(held_in.values()) == stated, dict(zip(held_in, stated))
    means = trained.groupby("run")[["red_orange", "noisy_to_red", "red_orange_to_black"]].mean().round(3)
    assert means.loc["CCE", "red_orange"] == 0.990 and means.loc["CCE", "noisy_to_red"] == 0.31
    assert means.loc[WAT, "red_orange"].tolist() == [0.912, 0.912]
    assert means.loc[WAT, "red_orange_to_black"].tolist() == [0.037, 0.039]
    assert means.loc[VAT, "red_orange"].between(0.953, 0.960).all()
    assert means.loc[PAPER, "red_orange"] == 0.949 and means.loc[PAPER, "noisy_to_red"] == 0.86
    assert means.loc[SWAPPED, "red_orange"] == 0.980 and means.loc[SWAPPED, "noisy_to_red"] == 0.95
    sweep_means = sweep_means.round(3)
    assert sweep_means.loc[TUNED, "red_orange"] == 0.976
    big = [f"{div}, β=5.0, ε=0.4" for div in VAT]
    assert sweep_means.loc[big, "red_orange"].between(0.927, 0.941).all() and (sweep_means.loc[big, "noisy_to_red"] == 1).all()
    small = [f"{div}, β=1.0, ε={e}" for div in VAT for e in (0.1, 0.2)]
    assert sweep_means.loc[small, "red_orange"].between(0.980, 0.988).all()
    assert (1 - sweep_means.loc[small, "noisy_to_red"]).round(2).between(0.19, 0.67).all()
