r"""Semantic segmentation under object-level label noise: the paper's Section 5.2 (Table 3).

One entry point, :func:`run_segmentation`, trains a :class:`watlib.models.UNet` on random patches of
the ISPRS Vaihingen training tiles (or of synthetic scenes in the same layout,
:func:`watlib.data.write_synthetic_vaihingen <watlib.data.synthetic.write_synthetic_vaihingen>`)
whose ground truth was corrupted at the object level (:func:`watlib.noise.object_noise`), predicts
every test tile in full with overlapping patches under a Gaussian window
(:func:`watlib.segmentation.predict_tile`) and scores the prediction against the complete clean test
ground truth (:func:`watlib.segmentation.metrics_from_confusion`).

The four methods of Table 3 reuse the losses of :mod:`watlib.methods`, which all accept dense
logits (B, K, H, W):

=============  ===============================================================================
``cce_clean``  cross-entropy on the clean ground truth (the paper's upper reference)
``cce``        cross-entropy on the corrupted ground truth
``bootsoft``   soft bootstrapping (Reed et al.) on the corrupted ground truth
``wat``        cross-entropy + :math:`\beta` times the WAT regularizer, the entropic OT loss
               taken at every pixel between the detached prediction and the prediction on the
               adversarial input, averaged over pixels, with the ground cost built from GloVe
               vectors of the six class names (:func:`watlib.costs.word_vector_cost`)
=============  ===============================================================================

Runs go through the same engine as :mod:`watlib.train` (:func:`watlib.engine.run_cached`):
the JSON record ``results/vaihingen/<name>.json`` (and the predicted map of one test tile,
``<name>.npz``) is loaded instead of retrained, with the same lock, checkpoints and provenance.

The paper gives Adam (lr :math:`10^{-4}`, then :math:`10^{-5}` after 10 epochs, betas
(0.9, 0.999)), 300 epochs, flips and 90/180/270 degree rotations, and a 200-pixel overlap at
prediction. It does not give the patch size, the batch size, the number of patches per
epoch, nor WAT's :math:`\beta, \varepsilon, \lambda` for this experiment: the ``paper``
preset takes 256-pixel patches, batches of 10, 1,000 patches an epoch and the classification
settings of WAT (:math:`\beta = 10`, :math:`\varepsilon = 0.005`, :math:`\lambda = 0.05`, no
warm-up); these are our choices, recorded in every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from tqdm import tqdm

from . import paper
from ._checks import check_choice, check_int, check_milestones, check_real, check_seed, describe
from .costs import class_names, word_vector_cost
from .engine import Setup, config_overrides, resolve_preset, run_cached
from .methods import make_method
from .models.unet import UNET_MAX_DEPTH
from .ot_settings import OT_FIELDS, OTSettings, ot_fields
from .records import config_key, find_results_dir
from .regularizer_fields import RegularizerFields

__all__ = [
    "SEGMENTATION_METHODS",
    "SEGMENTATION_PRESETS",
    "SegmentationConfig",
    "make_segmentation_config",
    "run_segmentation",
    "random_patches",
]

#: Table 3's columns, in its order.
SEGMENTATION_METHODS = paper.TABLE3_METHODS
_LOSS_OF = {"cce_clean": "cce", "cce": "cce", "bootsoft": "bootsoft", "wat": "watc"}

#: What each preset sets (see :class:`SegmentationConfig` for the fields).
SEGMENTATION_PRESETS = {
    # The paper's run on the real tiles (Section 5.2), with our choices where it is silent.
    "paper": dict(width=1.0, depth=4, patch=256, batch_size=10, patches_per_epoch=1000,
                  epochs=paper.SEGMENTATION["epochs"], lr=paper.SEGMENTATION["lr"],
                  milestones=paper.SEGMENTATION["milestones"], warmup=0,
                  predict_overlap=paper.SEGMENTATION["predict_overlap"], scene_size=(2048, 2048)),
    # Two CPU cores: the chapter's four runs on 256 x 256 synthetic scenes in under 30 minutes
    # (WAT's step costs about 5 CCE steps here: its OT loss runs on every pixel). 7,680
    # patches in all are too few for the paper's learning rates: at 1e-4 even the clean
    # reference never predicts a car (F1 0 in a pilot run); at 1e-3, dropped to 1e-4 after 20
    # of the 30 epochs, it reaches 99.7% OA with car F1 96.6 on clean labels, and 94.9% OA with
    # car F1 41.1 on the corrupted ones (pilot runs, seed 0): the noise then matters.
    "cpu": dict(width=0.25, depth=3, patch=64, batch_size=8, patches_per_epoch=256, epochs=30, lr=1e-3,
                milestones=(20,), warmup=0, predict_overlap=32, scene_size=(256, 256)),
    # Seconds, for CI.
    "smoke": dict(width=0.0625, depth=2, patch=32, batch_size=4, patches_per_epoch=8, epochs=2,
                  milestones=(1,), warmup=0, predict_overlap=8, scene_size=(64, 64)),
}


@dataclass(frozen=True)
class SegmentationConfig(RegularizerFields):
    """Everything that determines the outcome of a segmentation run (and so its cache key).

    Attributes
    ----------
    method : {"cce_clean", "cce", "bootsoft", "wat"}
    noise_fraction : float
        Fraction of the connected components of the training ground truth whose label is
        flipped to a plausible class (:func:`watlib.noise.object_noise`); the paper's third.
    seed : int
        Seeds the label noise, the initialisation and the patch sampling.
    data : {"synthetic", "isprs"}
        Synthetic scenes written by
        :func:`watlib.data.write_synthetic_vaihingen <watlib.data.synthetic.write_synthetic_vaihingen>`
        (fixed by ``scene_seed`` and ``scene_size``), or the real ISPRS tiles at the ``data_root``
        given to :func:`run_segmentation`.
    scene_seed : int
    scene_size : tuple of int
        (height, width) of each synthetic scene; ignored for the real tiles.
    epochs, milestones, lr, batch_size
        Adam schedule: the learning rate is divided by 10 at each milestone epoch.
    patch, patches_per_epoch
        Side of the square training patches, and how many are drawn per epoch (uniformly
        over the training pixels, with one of the 8 flips / rotations).
    width, depth
        Channel multiplier and number of poolings of the U-Net.
    predict_overlap, sigma
        Overlap of the prediction patches and the Gaussian window's sigma, in patch units.
    beta, eps, xi, n_power, reg, warmup, vectors
        WAT's regularizer (Eq. 7) and its ground cost, the fields of
        :class:`watlib.regularizer_fields.RegularizerFields` (shared with Table 2's runs); ignored
        by the other methods. ``beta`` None (the default) is WAT_C's, 10; ``warmup`` is 0.
    ot_solver, max_iter, tol, grad
        Solver settings of WAT's OT loss (:func:`watlib.ot.ot_loss`), by default training's
        (:data:`watlib.ot_settings.TRAIN_OT`; :attr:`ot` gathers them with ``reg``): each
        pixel's problem is solved to convergence. (The committed runs used
        the study's Sinkhorn to 1e-4, :data:`~watlib.ot_settings.STUDY_OT`: at the ``cpu``
        preset about 2,000 iterations per step in the first epochs, three times the time of an
        epoch at the 100 iterations of :data:`watlib.ot.MAX_ITER`, which left violations up to
        1.7e-2 over a run.)
    preset : str
        The preset this configuration started from.

    Examples
    --------
    >>> cfg = SegmentationConfig(method="wat", seed=1)
    >>> cfg.name() == f"vaihingen_wat_objects0.333_seed1_{cfg.key()}"
    True
    >>> SegmentationConfig(method="vat")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of ('cce_clean', 'cce', 'bootsoft', 'wat'), got 'vat'
    """

    #: Version of the fields (see :func:`watlib.audit.migrate_records`).
    SCHEMA: ClassVar[int] = 4

    method: str = "wat"
    noise_fraction: float = paper.SEGMENTATION["noise_fraction"]
    seed: int = 0
    data: str = "synthetic"
    scene_seed: int = 0
    scene_size: tuple = (2048, 2048)
    epochs: int = paper.SEGMENTATION["epochs"]
    milestones: tuple = paper.SEGMENTATION["milestones"]
    lr: float = paper.SEGMENTATION["lr"]
    batch_size: int = 10
    patch: int = 256
    patches_per_epoch: int = 1000
    width: float = 1.0
    depth: int = 4
    predict_overlap: int = paper.SEGMENTATION["predict_overlap"]
    sigma: float = 1.0
    warmup: int = 0
    preset: str = "paper"

    def __post_init__(self):
        check_choice("method", self.method, SEGMENTATION_METHODS)
        check_choice("data", self.data, ("synthetic", "isprs"))
        check_real("noise_fraction", self.noise_fraction, ge=0, le=1)
        for name in ("seed", "scene_seed"):
            check_seed(name, getattr(self, name))
        for name in ("epochs", "batch_size", "patches_per_epoch", "patch"):
            check_int(name, getattr(self, name), ge=1)
        check_int("depth", self.depth, ge=1, le=UNET_MAX_DEPTH)  # the U-Net's bound, when the config is built
        if self.patch % (2 ** self.depth):
            raise ValueError(f"patch must be a multiple of 2**depth = {2 ** self.depth}, got {self.patch!r}")
        check_int("predict_overlap", self.predict_overlap, ge=0, lt=self.patch)
        scene = tuple(self.scene_size)
        if len(scene) != 2:
            raise ValueError(f"scene_size must be (height, width), got {self.scene_size!r}")
        for s in scene:
            check_int("scene_size[i]", s, ge=1)
        for name in ("width", "lr", "sigma"):
            check_real(name, getattr(self, name), gt=0)
        if self.beta is None:  # the only regularized method is WAT with the word-vector cost
            object.__setattr__(self, "beta", paper.BETA["watc"])
        self.check_regularizer()
        self.resolve_ot()  # training's solver settings where none are given, checked together
        object.__setattr__(self, "milestones", check_milestones(self.milestones))
        object.__setattr__(self, "scene_size", tuple(int(s) for s in scene))
        for name in ("noise_fraction", "width", "lr", "sigma"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def ot(self) -> OTSettings:
        """WAT's :math:`\\lambda` and solver settings, as the regularizer receives them."""
        return OTSettings.of(self)

    def key(self) -> str:
        """A short hash of the configuration and its schema: the cache key of the run."""
        return config_key(self)

    def name(self) -> str:
        """A readable file stem: method, noise fraction, seed and the key."""
        return f"vaihingen_{self.method}_objects{self.noise_fraction:.3g}_seed{self.seed}_{self.key()}"


def make_segmentation_config(method: str = "wat", preset: str = "auto", seed: int = 0,
                             noise_fraction: float | None = None, ot: str = "train",
                             **overrides) -> SegmentationConfig:
    """The configuration of a segmentation run from a preset, with any field overridden.

    Parameters
    ----------
    method, seed
        See :class:`SegmentationConfig`.
    noise_fraction : float, optional
        Fraction of the training objects relabelled; None gives the paper's third.
    preset : {"auto", "paper", "cpu", "smoke"}
        ``auto`` picks ``paper`` when CUDA is available and ``cpu`` otherwise.
    ot : {"train", "study", "released"}
        The settings of WAT's OT loss, changed by ``ot_solver``, ``max_iter``, ``tol`` and
        ``grad`` (see :func:`watlib.train.make_config`).
    **overrides
        Any field of :class:`SegmentationConfig`; None values are ignored.

    Returns
    -------
    SegmentationConfig

    Examples
    --------
    >>> cfg = make_segmentation_config("cce", preset="cpu")
    >>> cfg.width, cfg.patch, cfg.epochs, cfg.scene_size
    (0.25, 64, 30, (256, 256))
    """
    preset = resolve_preset(preset, SEGMENTATION_PRESETS)
    values = dict(SEGMENTATION_PRESETS[preset])
    values.update(ot_fields(ot, **{k: overrides.pop(k, None) for k in OT_FIELDS}))
    values.update(config_overrides(SegmentationConfig, overrides))
    fraction = paper.SEGMENTATION["noise_fraction"] if noise_fraction is None else noise_fraction
    return SegmentationConfig(method=method, seed=seed, noise_fraction=fraction, preset=preset, **values)


# ------------------------------------------------------------------------------ patches
def random_patches(images, labels, n, patch, generator):
    """``n`` random square patches with one of the 8 flips / rotations each.

    Positions are drawn uniformly over all valid top-left corners of all tiles (so a tile
    contributes in proportion to its area); the transform is one of the dihedral group's 8
    elements: a rotation by 0, 90, 180 or 270 degrees, then a horizontal flip or not.

    Parameters
    ----------
    images : list of torch.Tensor, each (C, H_t, W_t)
    labels : list of torch.Tensor, each (H_t, W_t), int64
    n : int
    patch : int
        Side of the patches; every tile must be at least this large.
    generator : torch.Generator

    Returns
    -------
    x : torch.Tensor, shape (n, C, patch, patch)
    y : torch.Tensor, shape (n, patch, patch), int64

    Examples
    --------
    >>> import torch
    >>> img, lab = torch.arange(2 * 4 * 5.0).view(2, 4, 5), torch.arange(20).view(4, 5)
    >>> x, y = random_patches([img], [lab], 3, 2, torch.Generator().manual_seed(0))
    >>> x.shape, y.shape
    (torch.Size([3, 2, 2, 2]), torch.Size([3, 2, 2]))
    >>> bool((x[:, 0] == y.double()).all())  # inputs and labels move together
    True
    """
    sizes = []
    for t, (img, lab) in enumerate(zip(images, labels)):
        if img.shape[1:] != lab.shape:
            raise ValueError(f"tile {t}: image {tuple(img.shape)} and labels {tuple(lab.shape)} differ in size")
        if min(lab.shape) < patch:
            raise ValueError(f"tile {t} of size {tuple(lab.shape)} is smaller than patch = {patch}")
        sizes.append((lab.shape[0] - patch + 1) * (lab.shape[1] - patch + 1))
    weights = torch.tensor(sizes, dtype=torch.float64)
    tiles = torch.multinomial(weights, n, replacement=True, generator=generator)
    xs, ys = [], []
    for t in tiles.tolist():
        h, w = labels[t].shape
        i = int(torch.randint(h - patch + 1, (1,), generator=generator))
        j = int(torch.randint(w - patch + 1, (1,), generator=generator))
        k = int(torch.randint(4, (1,), generator=generator))
        flip = bool(torch.randint(2, (1,), generator=generator))
        x = torch.rot90(images[t][:, i : i + patch, j : j + patch], k, dims=(1, 2))
        y = torch.rot90(labels[t][i : i + patch, j : j + patch], k, dims=(0, 1))
        if flip:
            x, y = x.flip(2), y.flip(1)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), torch.stack(ys)


# ------------------------------------------------------------------------------ run
def _load_tiles(config, data_root):
    from .data.vaihingen import load_vaihingen

    if config.data == "isprs" and data_root is None:
        raise ValueError("data='isprs' needs data_root, the folder of the ISPRS Vaihingen files")
    if data_root is not None:
        root = Path(data_root)
        source = f"{'ISPRS Vaihingen' if config.data == 'isprs' else 'tiles'} read from {root}"
    else:
        from .data.synthetic import synthetic_vaihingen_root

        root = synthetic_vaihingen_root(config.scene_size, config.scene_seed)
        source = (f"synthetic scenes (watlib.data.write_synthetic_vaihingen, seed {config.scene_seed}, "
                  f"{config.scene_size[0]} x {config.scene_size[1]} px), not the real ISPRS data")
    return {split: load_vaihingen(root, split) for split in ("train", "validation", "test")}, source


def _noisy_training_labels(config, tiles):
    from .noise import VAIHINGEN_CONFUSIONS, object_noise

    labels, flipped, components, pixels = [], 0, 0, 0.0
    for tile in tiles:
        clean = tile.labels
        noisy, report = object_noise(clean, len(class_names("vaihingen")), VAIHINGEN_CONFUSIONS,
                                     fraction=config.noise_fraction, seed=config.seed * 1000 + tile.area)
        labels.append(torch.as_tensor(np.asarray(noisy), dtype=torch.int64))
        flipped += int(report.n_flipped)
        components += int(report.n_components)
        pixels += float((np.asarray(noisy) != np.asarray(clean)).sum())
    total = sum(int(np.asarray(t.labels).size) for t in tiles)
    return labels, {"components": components, "flipped": flipped, "pixel_rate": pixels / total,
                    "applied": config.method != "cce_clean"}


def _evaluate(model, tiles, config, device, keep=None):
    """Confusion matrix summed over tiles (and the predicted map of tile ``keep``)."""
    from .segmentation import confusion_matrix_of, predict_tile

    K = len(class_names("vaihingen"))
    cm = np.zeros((K, K), dtype=np.int64)
    kept = None
    for tile in tiles:
        probs = predict_tile(model, tile.image, patch=config.patch, overlap=config.predict_overlap,
                             sigma=config.sigma, batch_size=config.batch_size, device=device)
        pred = probs.argmax(dim=0).numpy()
        cm += confusion_matrix_of(np.asarray(tile.labels), pred, num_classes=K)
        if keep is not None and tile.area == keep:
            kept = pred.astype(np.uint8)
    return cm, kept


def _scores(cm):
    """The record's form of :func:`watlib.segmentation.metrics_from_confusion` (JSON types).

    The average F1 is over the five classes of Table 3: the paper leaves clutter out.
    """
    from .segmentation import metrics_from_confusion

    names = class_names("vaihingen")
    m = metrics_from_confusion(cm, class_names=names, ignore_class="clutter")

    def num(v):
        return None if v is None else float(v)

    return {"f1": {k: num(v) for k, v in m.f1.items()}, "average_f1": num(m.average_f1),
            "average_over": list(m.average_over), "overall_accuracy": float(m.overall_accuracy),
            "confusion_matrix": np.asarray(m.confusion).tolist()}


def run_segmentation(config: SegmentationConfig, data_root=None, results_dir=None, checkpoint_dir=None,
                     device=None, progress: bool = True, force: bool = False,
                     stop_after: int | None = None, display_area: int = 12) -> dict:
    """Train one segmentation configuration, or load its record when already trained.

    Parameters
    ----------
    config : SegmentationConfig
        The run (see :func:`make_segmentation_config`).
    data_root : path, optional
        The ISPRS Vaihingen folder (with ``config.data = "isprs"``), or a folder of
        synthetic scenes; by default the synthetic scenes of ``config`` in the watlib cache
        (written on first use).
    results_dir : path, optional
        Where records are cached (:func:`watlib.records.find_results_dir` by default):
        ``<results_dir>/vaihingen/<config.name()>.json`` and ``.npz``.
    checkpoint_dir : path, optional
        The per-epoch checkpoint (``<results_dir>/checkpoints``), deleted on completion.
    device : str or torch.device, optional
        CUDA when available by default.
    progress : bool
        Progress bars over the patches of each epoch and over the test tiles.
    force : bool
        Retrain even when a record exists.
    stop_after : int, optional
        Stop (as if interrupted) after this many epochs in this call; for tests of resume.
    display_area : int
        The test tile whose predicted map is kept (the paper's Figure 4 shows tile 12).

    Returns
    -------
    dict
        The record: ``config``, ``key``, ``complete``, ``data`` (where the tiles came from),
        ``noise`` (components, flipped, pixel-level flip rate of the training truth, and
        ``applied``: False for ``cce_clean``, which trains on the clean truth), ``history`` (per epoch:
        ``train_loss``, ``val_oa`` and ``val_avg_f1`` on the clean validation ground truth,
        ``lr``, ``seconds``), ``test`` (per-class F1, average F1 over the five classes of
        Table 3, overall accuracy, and the confusion matrix, on the clean test ground truth),
        ``device``, ``versions``, ``seed``, ``wall_time_s``. The predicted map of
        ``display_area`` is returned under ``prediction`` (an array) and stored in the
        ``.npz`` file.

    Examples
    --------
    Two epochs on small synthetic scenes (the scores mean nothing at this size):

    >>> import tempfile
    >>> from watlib.data import write_synthetic_vaihingen
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_synthetic_vaihingen(tmp, size=(64, 64), seed=0)
    ...     cfg = make_segmentation_config("wat", preset="smoke")
    ...     rec = run_segmentation(cfg, data_root=tmp, results_dir=tmp, progress=False)
    >>> rec["complete"], len(rec["history"]["train_loss"]), sorted(rec["test"]["f1"])[:2]
    (True, 2, ['building', 'car'])
    """
    from .models import UNet

    if not isinstance(config, SegmentationConfig):  # a dict of fields, say: before any attribute is read
        raise TypeError(f"config must be a SegmentationConfig (make_segmentation_config), got {describe(config)}")
    if config.data == "isprs" and data_root is None:
        raise ValueError("data='isprs' needs data_root, the folder of the ISPRS Vaihingen files")
    results_dir = Path(results_dir) if results_dir is not None else find_results_dir()

    def setup(device):
        splits, source = _load_tiles(config, data_root)
        train_tiles = splits["train"]
        images = [torch.as_tensor(np.asarray(t.image), dtype=torch.float32) for t in train_tiles]
        clean = [torch.as_tensor(np.asarray(t.labels), dtype=torch.int64) for t in train_tiles]
        noisy, noise = _noisy_training_labels(config, train_tiles)
        targets = clean if config.method == "cce_clean" else noisy
        K = len(class_names("vaihingen"))
        cost = word_vector_cost(class_names("vaihingen"), vectors=config.vectors) if config.method == "wat" else None
        method = make_method(_LOSS_OF[config.method], epochs=config.epochs, beta=config.beta, eps=config.eps,
                             xi=config.xi, n_power=config.n_power, warmup=config.warmup, cost=cost, ot=config.ot)
        torch.manual_seed(config.seed)
        models = [m.to(device) for m in method.build(
            lambda: UNet(images[0].shape[0], K, width=config.width, depth=config.depth))]
        model = method.predictor(models)
        starts = range(0, config.patches_per_epoch, config.batch_size)

        def batches(epoch, generator):
            for i in starts:
                n = min(config.batch_size, config.patches_per_epoch - i)
                x, y = random_patches(images, targets, n, config.patch, generator)
                yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)

        def evaluate(epoch):
            val = _scores(_evaluate(model, splits["validation"], config, device)[0])
            return {"val_oa": val["overall_accuracy"], "val_avg_f1": val["average_f1"]}

        def finish(history, complete):
            if not complete:
                return {"test": None}, None
            t0 = time.perf_counter()
            tiles = tqdm(splits["test"], desc="test tiles", disable=not progress, leave=False)
            cm, prediction = _evaluate(model, tiles, config, device, keep=display_area)
            fields = {"test": _scores(cm), "test_seconds": time.perf_counter() - t0,
                      "display_area": display_area if prediction is not None else None}
            return fields, ({"prediction": prediction} if prediction is not None else {})

        fields = {"data": source, "noise": noise, "n_tiles": {split: len(t) for split, t in splits.items()}}
        return Setup(models=models, method=method, batches=batches, n_batches=len(starts), evaluate=evaluate,
                     finish=finish, fields=fields)

    record = run_cached(config, "vaihingen", setup, kind="segmentation", results_dir=results_dir,
                        checkpoint_dir=checkpoint_dir, device=device, progress=progress, force=force,
                        stop_after=stop_after)
    arrays = record.pop("arrays", None) or {}
    record["prediction"] = arrays.get("prediction")
    return record
