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
# This chapter rebuilds both rows with `watlib` and checks each of these statements, with
# numbers. Everything below is computed here, by `watlib.toy`, `watlib.adversarial` and
# `watlib.plot`.

# %% tags=["parameters"]
seed = 0
n_per_class = 300
n_noisy = 20
hidden = [64, 64]
epochs = 250
warmup = 100
lr = 0.01
beta = 5.0
eps = 0.2
wat_regs = [0.1, 0.05]
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
    n_per_class, n_noisy = 60, 6
    epochs, warmup = 40, 10
    simplex_n = 16
    sweep_eps, sweep_beta = [0.2], [5.0]

# %% tags=["hide-cell"]
import warnings
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.colors import PowerNorm

from watlib.adversarial import kl, l2, tv, vat_loss, wasserstein, wat_loss
from watlib.costs import cost_from_matrix
from watlib.ot import ConvergenceWarning
from watlib.plot import plot_decision_boundary, plot_matrix, plot_simplex_loss
from watlib.toy import TOY_CLASSES, TOY_COLORS, make_toy_data, toy_cost, toy_scores, train_toy_classifier

# The toy's tensors are tiny: every step is dominated by per-operation overhead, and one
# thread is several times faster than two fighting over the same small kernels.
torch.set_num_threads(1)
RED, ORANGE, BLACK = (TOY_CLASSES.index(c) for c in ("red", "orange", "black"))

# %% [markdown]
# ## The data
#
# `make_toy_data` draws red and orange uniformly in the box $[-2, 2] \times [-1.5, 1.5]$, on
# either side of the sine wave $x_2 = 0.5 \sin(\pi x_1)$: the two classes touch along a
# wavy border, which is the "complexity between class red and class orange". Black is a
# Gaussian blob centred at $(4, 0)$, two units from the box. The noisy labels are a compact
# Gaussian cluster (standard deviation 0.15) in the widest part of the red region, about one
# unit away from the border, labelled black; they are red points (`y_clean = 0`) with the
# label black (`y_noisy = 2`). The sizes below are the chapter's parameters.

# %% tags=["nbval-ignore-output"]
x, y_noisy, y_clean = make_toy_data(n_per_class=n_per_class, n_noisy=n_noisy, seed=seed)
noisy = y_noisy != y_clean
counts = pd.DataFrame(
    {"clean labels": torch.bincount(y_clean, minlength=3).tolist(),
     "observed (noisy) labels": torch.bincount(y_noisy, minlength=3).tolist()},
    index=list(TOY_CLASSES),
)
print(f"x: {tuple(x.shape)} {x.dtype}; mislabelled: {int(noisy.sum())} red points labelled black")
counts

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
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
ax.set_title("The toy: observed labels")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
plt.show()

# %% [markdown]
# ## The ground cost
#
# The paper's cost (Section 4, "Discussions") is 5 between the similar classes red and
# orange and 1 between each of them and black. Note that it breaks the triangle inequality:
# $C_{\text{red},\text{orange}} = 5 > C_{\text{red},\text{black}} + C_{\text{black},\text{orange}} = 2$.
# Optimal transport moves mass directly from class to class, but when the prediction
# already holds some black mass, the cheapest way to move red mass to orange is to move red
# to black and the same amount of black to orange, at a cost of 2 per unit instead of 5; we
# will see this in the maps.

# %%
C = toy_cost()
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
# `watlib.adversarial.wasserstein` with enough Sinkhorn iterations (`simplex_max_iter`) to be
# converged (watlib warns when a solve stops above a marginal violation of $10^{-3}$; none
# does here). Training (below) uses the library's default of 100 iterations, as `wat_loss`
# does, and at $\max C / \lambda = 100$ that leaves its plans far from their marginals: the
# training cells print the `ConvergenceWarning` of each WAT model, which says by how much.
# This chapter's findings about WAT therefore hold for the regularizer as trained, not for
# the converged one.

# %%
C64 = toy_cost(dtype=torch.float64)
divergences = {
    **{f"WAT, λ={r}": wasserstein(C64, r, max_iter=simplex_max_iter) for r in wat_regs},
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
# Every classifier is the same MLP (`hidden` units, ReLU) trained from the same seeded
# initialisation by full-batch Adam (learning rate `lr`) on the noisy labels for `epochs`
# epochs, minimising Eq. 7, cross-entropy $+\ \beta \cdot$ regularizer. As in the paper,
# the regularizer is off for the first epochs (`warmup`; the paper uses 15 epochs on
# images). The adversarial search is Algorithm 1 with $\xi = 10^{-6}$ and one power
# iteration; WAT runs `wat_loss` (autodiff through 100 Sinkhorn iterations).
#
# Two settings have to be chosen for the toy. The radius $\varepsilon$ is the paper's
# $0.005$ for images scaled to $[-1, 1]$ with hundreds of dimensions; on this 2-D toy
# whose classes span units, $0.005$ does nothing, so we take $\varepsilon = 0.2$, about the
# radius of the noisy cluster. For $\beta$ we take the paper's VAT value, $\beta = 5$, and
# use the same $\beta$ and $\varepsilon$ for every regularizer. The sweep further down shows
# how the VAT results move with both; WAT's sensitivity is probed at one more $\beta$ only,
# since each WAT run costs as much as dozens of VAT runs (the Sinkhorn iterations, run on
# every step for the direction search and again for the loss).

# %% tags=["nbval-ignore-output"]
regularizers = {
    "CCE": None,
    **{f"WAT, λ={r}": partial(wat_loss, C=C, reg=r, eps=eps) for r in wat_regs},
    "TV": partial(vat_loss, divergence="tv", eps=eps),
    "KL": partial(vat_loss, divergence="kl", eps=eps),
    "L2": partial(vat_loss, divergence="l2", eps=eps),
}


def train(name, regularizer, **kw):
    """``train_toy_classifier`` with the chapter's settings; its ConvergenceWarning printed with the model's name."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = train_toy_classifier(x, y_noisy, regularizer=regularizer, **{**settings, **kw})
    for w in caught:
        print(f"{name}: {w.category.__name__}: {w.message}")
    return model


settings = dict(beta=beta, epochs=epochs, warmup=warmup, lr=lr, hidden=hidden, seed=seed)
models = {name: train(name, R) for name, R in regularizers.items()}

# %% tags=["nbval-ignore-output"]
COLUMNS = {"accuracy": "accuracy (clean labels)", "red_orange": "red/orange points", "black": "black points",
           "noisy_to_red": "noisy cluster -> red", "red_orange_to_black": "red/orange -> black"}
scores = pd.DataFrame({name: toy_scores(m, x, y_noisy, y_clean) for name, m in models.items()}).T
scores.round(3).rename(columns=COLUMNS)

# %% [markdown]
# The scores come from `toy_scores`. The accuracy is measured against the clean labels on
# all points; "red/orange points" is the accuracy on the correctly labelled red and orange
# points (how well the wavy border is kept); "noisy cluster -> red" is the fraction of the
# mislabelled cluster predicted red (1: the black labels were corrected, 0: the classifier
# learnt them); "red/orange -> black" is the fraction of the red and orange points predicted
# black, a class that has no point near them.

# %% [markdown]
# ## Figure 2, rebuilt
#
# Columns in the paper's order: CCE (with the ground cost $C$ above it, as in the paper),
# WAT at $\lambda = 0.1$ and $0.05$, TV, KL, L2. Points are coloured by their observed
# labels; the mislabelled ones are circled in green.

# %%
names = list(regularizers)
fig, axes = plt.subplots(2, len(names), figsize=(4.0 * len(names), 6.6),
                         gridspec_kw={"height_ratios": [1.25, 1]})
plot_matrix(C, labels=list(TOY_CLASSES), ax=axes[0, 0], title="ground cost $C$ (WAT)", cmap="Blues",
            fmt="{:.0f}", colorbar=False)
simplex_values = {}
for ax, name in zip(axes[0, 1:], names[1:]):
    plot_simplex_loss(divergences[name], p0, ax=ax, n=simplex_n, title=name, norm=PowerNorm(0.5), contours=5)
    simplex_values[name] = np.asarray(ax.collections[0].get_array())
for ax, name in zip(axes[1], names):
    s = scores.loc[name]
    plot_decision_boundary(models[name], x, y_noisy, ax=ax, highlight=noisy, legend=False, resolution=250,
                           title=f"{name}\nacc {s['accuracy']:.3f}, noisy->red {s['noisy_to_red']:.2f}")
handles, labels = axes[1, 0].get_legend_handles_labels()
fig.legend(handles, ["labelled " + t for t in labels[:3]] + ["mislabelled"], loc="lower center", ncol=4,
           frameon=False)
fig.suptitle(f"Figure 2 rebuilt: top, $D(p_0, p)$ on the simplex ($p_0$ = green x = {tuple(p0)}); "
             f"bottom, decision boundaries ($\\beta$={beta}, $\\varepsilon$={eps})")
fig.tight_layout(rect=(0, 0.04, 1, 0.97))
plt.show()

# %% [markdown]
# ## How sensitive is VAT to $\varepsilon$ and $\beta$?
#
# The VAT runs are cheap, so we repeat them over a small grid of radii and weights (same
# data, seed and schedule). Each cell gives the accuracy on the red/orange points and, after
# the slash, the fraction of the noisy cluster predicted red.

# %% tags=["nbval-ignore-output"]
sweep = {}
for div in ("tv", "kl", "l2"):
    for b in sweep_beta:
        row = {}
        for e in sweep_eps:
            m = train(div, partial(vat_loss, divergence=div, eps=e), beta=b)
            s = toy_scores(m, x, y_noisy, y_clean)
            row[f"eps={e}"] = f"{s['red_orange']:.3f} / {s['noisy_to_red']:.2f}"
        sweep[(div.upper(), f"beta={b}")] = row
cce = scores.loc["CCE"]
print(f"CCE (no regularizer): {cce['red_orange']:.3f} / {cce['noisy_to_red']:.2f}")
pd.DataFrame(sweep).T

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
# the paper's.

# %% tags=["nbval-ignore-output"]
C_swapped = cost_from_matrix([[0.0, 1.0, 5.0], [1.0, 0.0, 5.0], [5.0, 5.0, 0.0]])
extra_regularizers = {
    f"WAT, paper's C, β={beta_swap}": partial(wat_loss, C=C, reg=0.05, eps=eps),
    f"WAT, swapped C, β={beta_swap}": partial(wat_loss, C=C_swapped, reg=0.05, eps=eps),
}
extra_models = {name: train(name, R, beta=beta_swap) for name, R in extra_regularizers.items()}

# %% tags=["nbval-ignore-output"]
extra_scores = pd.DataFrame({name: toy_scores(m, x, y_noisy, y_clean) for name, m in extra_models.items()}).T
pd.concat([scores.loc[["CCE", "TV", f"WAT, λ={wat_regs[-1]}"]], extra_scores]).round(3).rename(columns=COLUMNS)

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.4))
plot_matrix(C_swapped, labels=list(TOY_CLASSES), ax=axes[0], title="swapped cost", cmap="Blues", fmt="{:.0f}",
            colorbar=False)
for ax, (name, m) in zip(axes[1:], extra_models.items()):
    s = extra_scores.loc[name]
    plot_decision_boundary(m, x, y_noisy, ax=ax, highlight=noisy, legend=False, resolution=250,
                           title=f"{name}, λ=0.05\nacc {s['accuracy']:.3f}, noisy->red {s['noisy_to_red']:.2f}")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What agrees with the paper, and what does not
#
# The numbers quoted here are those of the tables above (full run at the default
# parameters; one draw of the data, one seed).
#
# *The maps (top row) agree.* KL and L2 are isotropic around $p_0$ and TV, although its
# level sets are hexagons, treats orange and black alike: in the growth table the two
# directions give equal values for all three. The WAT loss grows faster from $p_0$ toward
# orange than toward black, as the paper says, by a factor 2 rather than 5 near $p_0$
# because the paper's cost breaks the triangle inequality. At these values $\lambda$ barely
# changes the maps: its main visible effect is a bias of order $e^{-1/\lambda}$ at $p_0$.
#
# *CCE agrees.* It follows the wavy border most closely (red/orange accuracy 0.995, the
# best of the figure) and it learns most of the black labels inside red: only a third of
# the mislabelled cluster is predicted red. It is fooled by the noise.
#
# *VAT agrees.* At $\beta = 5$, $\varepsilon = 0.2$ the three divergences correct the whole
# cluster and pay for it on the border, whose accuracy falls from 0.995 to about 0.94: the
# wave is flattened. The sweep shows that this is a trade-off and not a matter of tuning:
# the settings that clean the cluster completely keep 0.93 to 0.965 of the border points,
# and those that keep more than 0.97 of them leave at least 45% of the cluster black.
#
# *WAT with the paper's cost does not agree, in our hands.* It corrects the black labels
# (all of them at $\lambda = 0.1$, nine in ten at $\lambda = 0.05$), but it keeps the
# red/orange border *worse* than VAT, not better: its red/orange accuracy is the lowest of
# the figure (0.85 and 0.82). A large part of that loss (0.072 of the 0.147 missed at
# $\lambda = 0.1$, 0.063 of 0.178 at $\lambda = 0.05$: the "red/orange -> black" column) is
# a thin black band that WAT draws between red and orange, far from any black point. Both effects
# follow from the form of the loss. Around a confident red prediction, $OT_C$ charges
# $C_{\text{red},k}$ per unit of probability moved to class $k$: every red/orange change
# across the border costs 5 where TV charges 1, so the regularizer pulls harder toward a
# prediction that does not change across that border, which is smoothing; and since
# $C_{\text{red},\text{orange}} > C_{\text{red},\text{black}} + C_{\text{black},\text{orange}}$,
# the cheapest way for the prediction to go from red to orange is through black, hence the
# band. The paper's explanation, "the adversarial samples go toward the classes with small
# costs", does not rescue it: the power iteration looks for the direction in which the
# divergence grows fastest, which a large cost favours. Nor is $\beta$ the culprit: at
# $\beta = 1$ the paper's cost keeps the border a little better (0.907) but cleans only two
# thirds of the cluster, worse on both counts than VAT at $\beta = 5$.
#
# *The swapped cost does what the paper wants.* With a cost of 1 between red and orange and
# 5 toward black, WAT at $\beta = 1$ corrects the whole cluster and keeps the border (0.978),
# better than every VAT setting of the sweep that cleans the cluster. Class-dependent
# regularization works on this toy, with the cost the other way round: cheap between the
# classes whose border should stay complex, expensive toward the class whose labels should
# not be believed inside another.
#
# *The $\lambda$ trade-off was not found.* $\lambda = 0.1$ and $0.05$ give similar maps and
# similar boundaries; if anything $\lambda = 0.1$ keeps the border slightly better, the
# opposite of the paper's reading.
#
# These are single runs on one draw of the data; the tables, not the pictures, are the
# result. The asserts below check only what holds at any scale.

# %% tags=["remove-input"]
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
for name, m in {**models, **extra_models}.items():
    assert toy_scores(m, x, y_noisy, y_clean)["accuracy"] > 1 / 3 + 0.2, name  # far above chance
    assert m.history["ce"][-1] < m.history["ce"][0], name  # the cross-entropy term went down
