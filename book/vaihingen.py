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
# # Aerial image segmentation under object-level label noise
#
# The paper's second experiment (Section 5.2 of {cite:p}`damodaran2020wat`) moves from
# classifying images to labelling every pixel of an aerial image. The data are the ISPRS
# Vaihingen benchmark {cite:p}`rottensteiner2012isprs`: 33 tiles of about
# $2{,}000 \times 2{,}500$ pixels at 9 cm, each with a false-colour true orthophoto (near
# infrared, red, green: IRRG), a digital surface model (DSM, heights in metres) and a
# normalised DSM (nDSM, height above ground), so five input channels, and a dense ground
# truth in six classes: impervious surfaces, building, low vegetation, tree, car and clutter.
# The paper uses the initial split, 11 training, 5 validation and 17 test tiles, and
# corrupts the training ground truth *at the level of objects*: a connected component of
# pixels sharing a label is relabelled as a whole, to a class an annotator could plausibly
# have confused it with (a car may become impervious surface, never a building or a tree),
# for a third of the objects. A U-Net {cite:p}`ronneberger2015unet` taking the five
# channels is trained with Adam (learning rate $10^{-4}$, then $10^{-5}$ after 10 epochs) for
# 300 epochs with flips and rotations, predicts each test tile in full from overlapping
# patches averaged under a Gaussian window, and is scored by the F1 score of each class, their
# average and the overall accuracy (OA) on the complete test ground truth (Table 3). Four
# trainings are compared: cross-entropy on the clean ground truth (the reference), and
# cross-entropy, soft bootstrapping {cite:p}`reed2015bootstrapping` and WAT on the corrupted
# one. WAT's regularizer is the entropic OT loss of the earlier chapters taken at every pixel,
# between the prediction (held fixed) and the prediction on the adversarially perturbed
# tile, averaged over the pixels, with the ground cost built from word vectors of the six
# class names.
#
# **The data of this chapter.** The ISPRS archive needs a registration and cannot be
# downloaded here, so, unless `data_root` points at a copy of it, the chapter runs on
# *synthetic scenes* written in exactly the ISPRS layout by
# {py:func}`watlib.data.write_synthetic_vaihingen <watlib.data.synthetic.write_synthetic_vaihingen>`
# (GeoTIFFs read by the same loader as the real files): roads and squares, buildings with height, trees, lawns, cars on the roads and
# clutter, drawn so that colour alone confuses roofs with roads and lawns with trees, and
# height alone confuses trees with buildings. Every result below says which data produced it.
# Numbers on synthetic scenes are not numbers on Vaihingen: they show what the method does
# on a task of the same shape, at a scale a laptop can run, nothing more.
#
# To run the paper's experiment on the real tiles (on a GPU, where `preset = "auto"` picks
# `paper`):
#
# ```bash
# papermill book/vaihingen.ipynb out.ipynb -p data_root /path/to/ISPRS_Vaihingen
# ```
#
# `data_root` must hold `top/top_mosaic_09cm_area{N}.tif`, `dsm/dsm_09cm_matching_area{N}.tif`,
# the nDSM and the complete ground truth as
# {py:class}`watlib.data.VaihingenLayout <watlib.data.vaihingen.VaihingenLayout>` describes
# (other file names: build a `VaihingenLayout`). Each run's record lands in
# `results/vaihingen/` and is loaded instead of retrained the next time.

# %% tags=["parameters"]
methods = ["cce_clean", "cce", "bootsoft", "wat"]
noise_fraction = None  # None: the paper's third of the objects
preset = "auto"
seed = 0
data_root = None
device = None
ot = "study"  # WAT's OT settings (watlib.OT_PRESETS): "study" (the committed records'), "train", "released"
ot_solver = None  # changes to them: solver ("sinkhorn", "newton", "auto"); None: the settings'
max_iter = None  # iterations (Newton: steps), stopping threshold, gradient; None: the settings'
tol = None
grad = None
unconverged_reference = True  # also run WAT with the fixed 100 Sinkhorn iterations of the chapter's first version

# %% tags=["nbval-ignore-output", "hide-cell"]
import os
import tempfile

SMOKE_TEST = os.environ.get("SMOKE_TEST")
results_dir = None  # None: results/ at the project root
if SMOKE_TEST:
    # Tiny synthetic scenes and a few seconds of training whose records go to a temporary
    # folder, never to results/.
    smoke_dir = tempfile.TemporaryDirectory(prefix="watlib-smoke-")
    results_dir = smoke_dir.name
    preset = "smoke"
    print(f"SMOKE TEST: preset 'smoke', records in {results_dir}. The scores below are those of a few "
          "seconds of training on 64 x 64 scenes and mean nothing.")

# %% tags=["nbval-ignore-output", "hide-cell"]
import warnings
from textwrap import fill

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import ndimage

from watlib.costs import class_names, word_vector_cost
from watlib.data import VAIHINGEN_SPLIT, load_vaihingen, read_vaihingen_tile, synthetic_vaihingen_root
from watlib.noise import VAIHINGEN_CONFUSIONS, object_noise
from watlib.ot import MAX_ITER, TOL, WARN_VIOLATION, ConvergenceWarning
from watlib.plot import plot_label_maps, plot_matrix, plot_scene, plot_segmentation_curves
from watlib.results import PAPER_TABLE3, SEGMENTATION_LABELS, segmentation_table
from watlib.train_segmentation import make_segmentation_config, run_segmentation

names = class_names("vaihingen")
data = "isprs" if data_root is not None else "synthetic"
configs = [make_segmentation_config(m, preset=preset, seed=seed, noise_fraction=noise_fraction, data=data,
                                    ot=ot, ot_solver=ot_solver, max_iter=max_iter, tol=tol, grad=grad)
           for m in methods]
config = configs[0]
root = data_root if data_root is not None else synthetic_vaihingen_root(config.scene_size, config.scene_seed)
if data == "synthetic":
    DATA_NOTE = (f"DATA: synthetic scenes ({config.scene_size[0]} x {config.scene_size[1]} px, seed "
                 f"{config.scene_seed}), not ISPRS Vaihingen")
else:
    DATA_NOTE = f"DATA: ISPRS Vaihingen, read from {data_root}"

# %% [markdown]
# ## The tiles
#
# The split is the paper's: the 16 tiles labelled in the benchmark's first release give 11
# training and 5 validation tiles, the 17 others are the test tiles. The paper does not name
# its validation tiles;
# {py:data}`watlib.data.VAIHINGEN_SPLIT <watlib.data.vaihingen.VAIHINGEN_SPLIT>` takes those
# of Volpi and Tuia
# {cite:p}`volpi2017dense` (11, 15, 28, 30, 34), who share an author with the paper. A
# training tile, its five inputs and its ground truth:

# %% mystnb={"figure": {"caption": "A training tile of the chapter's data: its inputs and its ground truth.", "name": "fig-vaihingen-tile"}} tags=["nbval-ignore-output"]
print("\n".join(fill(f"{split}: {list(areas)}", 76, subsequent_indent="  ") for split, areas in VAIHINGEN_SPLIT.items()))
tile = read_vaihingen_tile(root, VAIHINGEN_SPLIT["train"][0])
print(f"{DATA_NOTE}\narea {tile.area}: image {tile.image.shape}\n  (IRRG, DSM, nDSM scaled to [0, 1]), "
      f"DSM from {tile.dsm_range[0]:.1f} to {tile.dsm_range[1]:.1f} m")
plot_scene(tile)
plt.show()

# %% [markdown]
# ## Object-level label noise
#
# {py:func}`watlib.noise.object_noise` labels the connected components of each class
# (8-connected), draws a third of them and gives each one of the classes its class may
# plausibly be confused with ({py:data}`~watlib.noise.VAIHINGEN_CONFUSIONS`, whose reasons
# are written in the source). A car may only become impervious surface, and nothing becomes
# a car.
#
# **This confusion table is ours, not the paper's.** The paper gives a single example of a
# plausible error, "a car could be mislabeled to an impervious surface, but not to a building
# or a tree" (Section 5.2), and neither lists the confusions it allowed nor released its
# corrupted labels. The row of cars follows that sentence; every other row below (that a
# building may become impervious surface or clutter, a tree only low vegetation, and so on)
# is our own judgement of what an annotator could confuse. The noise the runs see, and so
# the errors the noisy runs make, follow from that choice: another table would corrupt other
# objects and the maps would fail differently.

# %%
for source, targets in VAIHINGEN_CONFUSIONS.items():
    print(f"{names[source]:>20} -> {', '.join(names[t] for t in targets)}")

# %% [markdown]
# The training tile above, clean and corrupted as the runs see it (the noise of a tile is
# seeded by the run's seed and the area number), with a close-up (the paper's Figure 3):

# %% mystnb={"figure": {"caption": "The training tile clean and corrupted as the runs see it, whole objects flipped, with a close-up (the paper's Figure 3).", "name": "fig-vaihingen-noise"}} tags=["nbval-ignore-output"]
noisy, report = object_noise(tile.labels, len(names), VAIHINGEN_CONFUSIONS, fraction=config.noise_fraction,
                             seed=seed * 1000 + tile.area)
h, w = tile.labels.shape
crop = (h // 4, h // 4 + h // 3, w // 4, w // 4 + w // 3)
print(f"area {tile.area}: {report.n_flipped} of {report.n_components} objects relabelled, "
      f"{report.pixel_flip_rate:.1%} of the pixels")
plot_label_maps({"clean ground truth": tile.labels, "corrupted ground truth": noisy}, image=tile.image, crop=crop)
plt.show()

# %% [markdown]
# Because whole objects flip, the share of flipped *pixels* depends on which objects are
# drawn: a tile whose road network is one large object loses all of its roads at once when
# that object is drawn. Over the training tiles, the pixels that moved from each true class
# (rows) to each training label (columns), and the share of flipped pixels per tile:

# %% mystnb={"figure": {"caption": "Over the training tiles: the pixels that moved from each true class to each training label, and the share of flipped pixels per tile.", "name": "fig-vaihingen-flips"}} tags=["nbval-ignore-output"]
train_tiles = load_vaihingen(root, "train")
pixel_counts = np.zeros((len(names), len(names)))
rates = {}
for t in train_tiles:
    _, rep = object_noise(t.labels, len(names), VAIHINGEN_CONFUSIONS, fraction=config.noise_fraction,
                          seed=seed * 1000 + t.area)
    pixel_counts += rep.pixel_counts
    rates[t.area] = rep.pixel_flip_rate
fig, axes = plt.subplots(2, 1, figsize=(6.8, 8.4), height_ratios=[2.6, 1], layout="constrained")
plot_matrix(pixel_counts / np.maximum(pixel_counts.sum(axis=1, keepdims=True), 1), labels=[n.replace(" ", "\n") for n in names],
            ax=axes[0], vmin=0, vmax=1,
            title="share of each class's training pixels, by training label")
axes[0].set_xlabel("training label")
axes[0].set_ylabel("true class")
axes[1].bar([str(a) for a in rates], [100 * r for r in rates.values()], color="0.5")
axes[1].axhline(100 * np.mean(list(rates.values())), color="k", linestyle=":", label="mean over tiles")
axes[1].set_xlabel("training tile (area)")
axes[1].set_ylabel("flipped pixels (%)")
axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
plt.show()

# %% [markdown]
# ## The runs
#
# One run per method with the preset's settings;
# {py:func}`watlib.train_segmentation.run_segmentation` loads a run's record from
# `results/vaihingen/` when it exists and trains it otherwise. All four start from the same initial network and see the same patches in the same order; they
# differ only by their labels (clean or corrupted) and their loss. After each epoch every
# validation tile is predicted in full and scored against its *clean* ground truth: a
# learning curve, not a model selection (the final network is the one tested).

# %% tags=["nbval-ignore-output", "remove-stderr"]
records = [run_segmentation(c, data_root=data_root, results_dir=results_dir, device=device) for c in configs]
print(f"preset {config.preset!r}: U-Net width {config.width}, depth {config.depth}\n"
      f"  {config.patches_per_epoch} patches of {config.patch} px per epoch in batches of {config.batch_size}, "
      f"{config.epochs} epochs\n"
      f"  learning rate {config.lr:g} divided by 10 after epoch(s) {list(config.milestones)}\n"
      f"  prediction with {config.predict_overlap}-px overlap, sigma {config.sigma}\n"
      f"WAT: beta {config.beta}, eps {config.eps}, lambda {config.reg}\n"
      f"  {config.ot_solver.capitalize()} to a marginal violation of {config.tol:g}\n"
      f"  (at most {config.max_iter:,} iterations, {config.grad} gradients)")

# %% [markdown]
# WAT's regularizer solves one entropic OT problem per pixel of every patch, between the
# predicted class distribution and the one under the adversarial perturbation. Every
# problem is solved to a largest column-marginal violation of $10^{-4}$ with Sinkhorn's
# iterations, the first study's settings ({py:data}`watlib.ot_settings.STUDY_OT`), like the
# classification runs' (a fixed budget of
# iterations, as in the first version of this chapter, is compared below); the record
# keeps, per epoch, the largest violation left and the iterations the solves took:

# %% tags=["nbval-ignore-output"]
for r in records:
    h = r["history"]
    if any(v is not None for v in h.get("ot_violation_max") or []):
        worst = max(v for v in h["ot_violation_max"] if v is not None)
        means = [v for v in h["ot_iterations_mean"] if v is not None]
        print(f"{SEGMENTATION_LABELS[r['config']['method']]}: worst marginal violation {worst:.1e} over "
              f"{len(means)} epochs\n  iterations per solve {min(means):,.0f} to {max(means):,.0f} on average per "
              f"epoch, at most {max(v for v in h['ot_iterations_max'] if v is not None):,}")

# %% [markdown]
# The ground cost of WAT, from GloVe vectors of the class names
# ({py:func}`~watlib.costs.word_vector_cost`; the chapter on ground costs explains its
# construction and its sign): moving mass between two classes costs *more* the
# closer their names are, so the regularizer is strongest against the confusions that are
# most likely by this measure (impervious surfaces against low vegetation and clutter, low
# vegetation against tree):

# %% mystnb={"figure": {"caption": "WAT's ground cost between the five Vaihingen classes, from GloVe vectors of their names.", "name": "fig-vaihingen-cost"}}
C = word_vector_cost(names, vectors=config.vectors)
plot_matrix(C, labels=[n.replace(" ", "\n") for n in names], title="WAT's ground cost C (GloVe 6B, 50-d)")
plt.show()

# %% [markdown]
# ## Learning curves
#
# The validation overall accuracy and average F1 (over the five classes Table 3 reports)
# after each epoch:

# %% mystnb={"figure": {"caption": "Validation overall accuracy and average F1 after each epoch, one line per method.", "name": "fig-vaihingen-curves"}} tags=["nbval-ignore-output"]
plot_segmentation_curves(records)
plt.show()

# %% [markdown]
# ## Table 3
#
# Per-class F1, their average and the overall accuracy on the full clean ground truth of the
# 17 test tiles (boundaries included, as in the paper), ours beside the paper's. The
# paper's numbers are the mean of two runs on the real Vaihingen tiles at full scale; the
# source of ours is in the column header
# ({py:func}`watlib.results.segmentation_table`: a block of rows per score, the methods
# within it, our number beside the paper's). The bars draw the same numbers.

# %% tags=["nbval-ignore-output"]
print(f"ours: {len(records)} runs, preset {config.preset!r}, seed {seed}")
table = segmentation_table(records)
display(table)

# %% mystnb={"figure": {"caption": "Table 3's scores as bars: ours beside the paper's.", "name": "fig-vaihingen-table3"}} tags=["nbval-ignore-output"]
num = table.attrs["numeric"]
sources = [s for s in num["source"].unique() if s != "paper"] + ["paper"]
fig, axes = plt.subplots(len(sources), 1, figsize=(6.8, 2.3 * len(sources) + 1.2), sharex=True, sharey=True,
                         layout="constrained")
for ax, source in zip(np.atleast_1d(axes), sources):
    sub = num[num["source"] == source].pivot(index="row", columns="method", values="mean")
    sub = sub.reindex(index=list(PAPER_TABLE3.index), columns=[m for m in SEGMENTATION_LABELS if m in sub.columns])
    sub.rename(columns=SEGMENTATION_LABELS).plot.bar(ax=ax, rot=0, width=0.8, legend=False)
    where = "synthetic scenes, NOT the ISPRS data" if data == "synthetic" else "ISPRS Vaihingen"
    ax.set_title("paper: ISPRS Vaihingen, mean of 2 runs" if source == "paper" else f"{source}: {where}", fontsize=9)
    ax.set_ylabel("%")
    ax.set_xlabel("")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
ax.set_xticks(range(len(PAPER_TABLE3.index)), [r.replace(" ", "\n") for r in PAPER_TABLE3.index], fontsize=8)
fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8, frameon=False)
plt.show()

# %% [markdown]
# ## Predicted maps
#
# Test tile 12 (the one of the paper's Figure 4): the image, the clean ground truth and each
# method's prediction, with a close-up of the window richest in cars.

# %% mystnb={"figure": {"caption": "A test tile: the image, the clean ground truth and each method's prediction, with a close-up of the window richest in cars.", "name": "fig-vaihingen-maps"}} tags=["nbval-ignore-output"]
test_tile = read_vaihingen_tile(root, records[0]["display_area"])
h, w = test_tile.labels.shape
side = max(16, min(h, w) // 3)
density = ndimage.uniform_filter((test_tile.labels == names.index("car")).astype(float), size=side, mode="constant")
cy, cx = np.unravel_index(np.argmax(density), density.shape)
top, left = int(np.clip(cy - side // 2, 0, h - side)), int(np.clip(cx - side // 2, 0, w - side))
maps = {"ground truth": test_tile.labels}
maps.update({SEGMENTATION_LABELS[r["config"]["method"]]: r["prediction"] for r in records})
print(f"test tile {test_tile.area}")
plot_label_maps(maps, image=test_tile.image, crop=(top, top + side, left, left + side))
plt.show()

# %% [markdown]
# ## What solving the OT problems to convergence changes
#
# The first version of this chapter trained WAT with a fixed budget of
# {py:data}`watlib.ot.MAX_ITER` Sinkhorn iterations per problem, differentiated through the
# unrolled iterations, which is close to the authors' code (a fixed 20). The same run with
# that budget, made by the same code, beside the converged one, with cross-entropy on the
# same corrupted labels for reference:

# %% tags=["nbval-ignore-output", "remove-stderr"]
wat_runs = {}
if unconverged_reference and "wat" in methods:
    wat_runs["WAT, converged"] = next(r for r in records if r["config"]["method"] == "wat")
    budget = make_segmentation_config("wat", preset=preset, seed=seed, noise_fraction=noise_fraction, data=data,
                                      ot_solver="sinkhorn", max_iter=MAX_ITER, tol=TOL, grad="unrolled")
    with warnings.catch_warnings():  # unconverged on purpose: the table shows by how much
        warnings.simplefilter("ignore", ConvergenceWarning)
        wat_runs[f"WAT, {MAX_ITER} iterations"] = run_segmentation(budget, data_root=data_root, results_dir=results_dir,
                                                              device=device)
    compared = dict(wat_runs)
    compared.update({SEGMENTATION_LABELS[r["config"]["method"]]: r for r in records if r["config"]["method"] == "cce"})
    solves = pd.DataFrame({label: {
        "worst violation": max((v for v in r["history"].get("ot_violation_max", []) if v is not None), default=np.nan),
        "iterations (mean)": np.mean([v for v in r["history"].get("ot_iterations_mean", []) if v is not None] or [np.nan]),
        "OA": r["test"]["overall_accuracy"], "average F1": r["test"]["average_f1"],
        **{f"F1 {c}": r["test"]["f1"][c] for c in ("building", "car", "clutter")},
        "minutes": r["wall_time_s"] / 60,
    } for label, r in compared.items()})
    shown = solves.map(lambda v: "–" if np.isnan(v) else f"{v:.2f}")
    shown.loc["worst violation"] = solves.loc["worst violation"].map(lambda v: "–" if np.isnan(v) else f"{v:.1e}")
    shown.loc["iterations (mean)"] = solves.loc["iterations (mean)"].map(lambda v: "–" if np.isnan(v) else f"{v:,.0f}")
    display(shown)

# %% mystnb={"figure": {"caption": "The learning curves of WAT with converged solves and with the first version's fixed budget of iterations, with cross-entropy for reference.", "name": "fig-vaihingen-budget"}} tags=["nbval-ignore-output"]
if wat_runs:
    fig, ax = plt.subplots(figsize=(6.8, 3.0), layout="constrained")
    for label, r in compared.items():
        ax.plot(r["history"]["epoch"], r["history"]["val_avg_f1"], marker=".", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation average F1 (%)")
    ax.legend(fontsize=8, frameon=False)
    plt.show()

# %% [markdown]
# ## What the runs show
#
# *Synthetic scenes, `cpu` preset, one seed per method: the paragraphs below describe the
# stored outputs above, not Vaihingen.*
#
# **The task is far easier than Vaihingen.** Trained on the clean ground truth, the small
# U-Net labels 99.7% of the test pixels right and finds the cars (F1 95.3), against the
# paper's 83.9% and 58.9 on the real tiles: the synthetic scenes are clean geometric shapes
# with colour and height cues that never contradict each other. Only the differences between
# the columns mean anything here, not their level.
#
# **Object-level noise hurts most where the paper says it does.** With a third of the
# training objects relabelled (about a third of the training pixels), cross-entropy loses
# 4.3 points of overall accuracy and more than half of its car F1 (95.3 to 43.2); in the
# paper the same noise costs 19.9 points of OA and takes cars from 58.9 to 14.2. The maps
# show the mechanism: whole buildings come out as clutter, the label some of the training
# buildings were given, and cars fade into the road. The buildings painted as clutter follow
# from our confusion table (a building may become clutter there), not from the paper's
# setting, which names only the car-to-road confusion: with a table that never relabels
# buildings as clutter this error would not appear, and the paper's noisy maps may fail
# elsewhere.
#
# **Bootsoft changes nothing here.** Its scores are within 1.5 points of
# cross-entropy's in every row, cars included (44.7). In the paper it recovered most of the overall accuracy
# (78.9 against 64.0) but not the cars (11.0).
#
# **WAT gives the cleanest buildings, but loses the cars and the overall accuracy.** With its
# OT problems solved to convergence, WAT paints almost no building as clutter (348 test
# pixels, against 14,413 for cross-entropy): its building F1 is 98.9, against 96.0 for
# cross-entropy and 99.9 for the clean reference. Everything else goes the other way. It
# does not predict a car on a single test pixel (F1 0.0) and almost never clutter (369
# pixels, for 12,882 in the ground truth), its low vegetation and trees fall to 92.0 and 93.3 (98.4 and 99.1 for cross-entropy), and its
# overall accuracy, 94.3%, is 1.1 points below cross-entropy's, the lowest of the three on
# the corrupted labels; so is its average F1 over the five classes, 76.2. The paper has WAT
# ahead of Bootsoft and cross-entropy on cars (25.8) and on the average (69.7). The learning
# curves show when the gap opens: cross-entropy on the corrupted labels finds the cars late,
# its validation average F1 below 79 for 15 epochs and then rising to 87.6 by the last, and
# WAT never makes that rise (its best epoch: 76.6).
#
# **How the OT problems are solved changes the outcome.** The same WAT run with a fixed
# budget of 100 Sinkhorn iterations, as this chapter first ran it, leaves marginal violations
# up to $1.7 \times 10^{-2}$, and it is a different run: the best overall accuracy of the three
# on the corrupted labels (96.2%, 0.8 points above cross-entropy's) and a few cars (F1 3.5).
# It does not find the cars either (its best validation average F1 is 79.3), so the two
# solvers agree on the loss of cars and disagree on the rest. A number obtained with an
# unconverged regularizer is a number about another regularizer.
#
# Why WAT holds the cars back we have not tested. A regularizer that asks every pixel's
# prediction to stay put under a perturbation of the whole patch holds back most the
# predictions that are least stable, and those of small, rare objects are; but one seed, one
# regularization weight ($\beta = 10$, taken from the classification experiments because the
# paper gives none for this one) and 30 short epochs cannot separate that explanation from
# others.

# %% [markdown]
# ## What the runs cost

# %% tags=["nbval-ignore-output"]
costs = pd.DataFrame([{
    "method": SEGMENTATION_LABELS[r["config"]["method"]], "device": r["device"],
    "training + validation (min)": r["wall_time_s"] / 60, "s per epoch": float(np.mean(r["history"]["seconds"])),
    "test prediction (s)": r["test_seconds"],
} for r in records]).round(2)
display(costs)
print(f"in all {costs['training + validation (min)'].sum() + costs['test prediction (s)'].sum() / 60:.1f} "
      "minutes")

# %% tags=["hide-input"]
if SMOKE_TEST:
    smoke_dir.cleanup()  # the smoke records; they are in memory
assert all(r["complete"] and len(r["history"]["train_loss"]) == r["config"]["epochs"] for r in records)
assert [r["config"]["method"] for r in records] == methods and all(r["config"]["data"] == data for r in records)
assert all(sum(map(sum, r["test"]["confusion_matrix"])) == sum(t.labels.size for t in load_vaihingen(root, "test"))
           for r in records[:1])  # every test pixel is scored
assert all(0 <= r["test"]["overall_accuracy"] <= 100 for r in records)
assert all(r["noise"]["applied"] == (r["config"]["method"] != "cce_clean") for r in records)
assert abs(report.n_flipped - round(config.noise_fraction * report.n_eligible)) == 0
violations = [v for r in records if r["config"]["method"] == "wat" for v in r["history"]["ot_violation_max"]]
assert ("wat" not in methods or violations) and all(v is not None and v < WARN_VIOLATION for v in violations)
if not SMOKE_TEST and config.preset == "cpu" and data == "synthetic" and ot == "study":  # the stored run described above
    scores = {r["config"]["method"]: r["test"] for r in records}
    noisy_methods = [m for m in scores if m != "cce_clean"]
    assert all(scores["cce_clean"]["overall_accuracy"] > scores[m]["overall_accuracy"] for m in noisy_methods)
    assert scores["cce_clean"]["f1"]["car"] > 90 > 50 > scores["cce"]["f1"]["car"]
    assert scores["wat"]["overall_accuracy"] < min(scores["cce"]["overall_accuracy"], scores["bootsoft"]["overall_accuracy"])
    assert scores["wat"]["f1"]["car"] < scores["cce"]["f1"]["car"]
    cm = {m: np.array(scores[m]["confusion_matrix"]) for m in scores}
    car, clutter, building = (names.index(c) for c in ("car", "clutter", "building"))
    val_f1 = {m: r["history"]["val_avg_f1"] for m, r in zip(methods, records)}
    # the numbers quoted in "What the runs show", checked against the records they describe
    quoted = {
        "clean OA": (scores["cce_clean"]["overall_accuracy"], 99.7),
        "clean car F1": (scores["cce_clean"]["f1"]["car"], 95.3),
        "CCE OA loss": (scores["cce_clean"]["overall_accuracy"] - scores["cce"]["overall_accuracy"], 4.3),
        "CCE car F1": (scores["cce"]["f1"]["car"], 43.2),
        "Bootsoft car F1": (scores["bootsoft"]["f1"]["car"], 44.7),
        "WAT OA": (scores["wat"]["overall_accuracy"], 94.3),
        "WAT OA loss": (scores["cce"]["overall_accuracy"] - scores["wat"]["overall_accuracy"], 1.1),
        "WAT building F1": (scores["wat"]["f1"]["building"], 98.9),
        "CCE building F1": (scores["cce"]["f1"]["building"], 96.0),
        "clean building F1": (scores["cce_clean"]["f1"]["building"], 99.9),
        "WAT car F1": (scores["wat"]["f1"]["car"], 0.0),
        "WAT low vegetation, tree F1": ((scores["wat"]["f1"]["low vegetation"], scores["wat"]["f1"]["tree"]), (92.0, 93.3)),
        "CCE low vegetation, tree F1": ((scores["cce"]["f1"]["low vegetation"], scores["cce"]["f1"]["tree"]), (98.4, 99.1)),
        "WAT average F1": (scores["wat"]["average_f1"], 76.2),
        "CCE last val F1": (val_f1["cce"][-1], 87.6),
        "WAT best val F1": (max(val_f1["wat"]), 76.6),
        "paper OA loss": (PAPER_TABLE3.loc["overall accuracy", "cce_clean"] - PAPER_TABLE3.loc["overall accuracy", "cce"], 19.9),
    }
    assert all(np.allclose(np.round(value, 1), text) for value, text in quoted.values()), quoted
    counts = {"WAT building as clutter": (cm["wat"][building, clutter], 348),
              "CCE building as clutter": (cm["cce"][building, clutter], 14413),
              "WAT car pixels": (cm["wat"][:, car].sum(), 0), "WAT clutter pixels": (cm["wat"][:, clutter].sum(), 369),
              "true clutter pixels": (cm["wat"][clutter].sum(), 12882)}
    assert all(value == text for value, text in counts.values()), counts
    assert max(val_f1["cce"][:15]) < 79 < val_f1["cce"][15]  # "below 79 for 15 epochs and then rising"
    bootsoft_rows = [(scores["bootsoft"]["f1"][c], scores["cce"]["f1"][c]) for c in list(PAPER_TABLE3.index)[:5]]
    bootsoft_rows += [(scores["bootsoft"][k], scores["cce"][k]) for k in ("average_f1", "overall_accuracy")]
    assert all(abs(a - b) < 1.5 for a, b in bootsoft_rows)  # "within 1.5 points of cross-entropy's"
    if unconverged_reference:  # "How the OT problems are solved changes the outcome"
        budget_run = wat_runs[f"WAT, {MAX_ITER} iterations"]
        assert round(solves.loc["worst violation", f"WAT, {MAX_ITER} iterations"], 3) == 0.017
        assert round(budget_run["test"]["overall_accuracy"], 1) == 96.2 and round(budget_run["test"]["f1"]["car"], 1) == 3.5
        assert round(budget_run["test"]["overall_accuracy"] - scores["cce"]["overall_accuracy"], 1) == 0.8
        assert budget_run["test"]["overall_accuracy"] > max(scores[m]["overall_accuracy"] for m in noisy_methods)
        assert round(max(budget_run["history"]["val_avg_f1"]), 1) == 79.3
    assert scores["wat"]["average_f1"] < min(scores["cce"]["average_f1"], scores["bootsoft"]["average_f1"])
