r"""Semantic segmentation of full tiles and its metrics (Section 5.2 of the paper).

- :func:`predict_tile`: class probabilities of a whole tile from overlapping patches,
  averaged with a Gaussian window (:func:`gaussian_window`) on the grid of
  :func:`patch_grid`: "we predict on the full image using overlapping patches (200 pixels
  overlap) averaged according to a Gaussian kernel centered in the middle of the patch
  (:math:`\sigma = 1`)".
- :func:`confusion_matrix_of`, :func:`metrics_from_confusion` and
  :func:`segmentation_metrics`: per-class F1, average F1 and overall accuracy (in %) as in
  Table 3. Confusion matrices of several tiles add up, so a test set is scored tile by tile
  without concatenating its pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ._extras import needs_extra

with needs_extra("vaihingen", "watlib.segmentation (segmentation metrics)"):
    from sklearn.metrics import confusion_matrix

from ._checks import check_bool, check_int, check_labels, check_real

__all__ = [
    "gaussian_window",
    "patch_grid",
    "predict_tile",
    "SegmentationMetrics",
    "confusion_matrix_of",
    "metrics_from_confusion",
    "segmentation_metrics",
]

# The window's corners, exp(-1 / sigma^2), must stay at least this large so that every
# pixel gets a normal, positive float32 weight (sigma >= 0.1203...).
_MIN_WINDOW = 1e-30


def _check_sigma(sigma):
    """``sigma`` as a float whose window keeps its corners above _MIN_WINDOW."""
    smallest = 1.0 / math.sqrt(-math.log(_MIN_WINDOW))
    try:
        return check_real("sigma", sigma, ge=smallest)  # a TypeError passes through
    except ValueError:
        raise ValueError(
            f"sigma must be finite and >= {smallest:.4f} (in patch half-widths; the window's "
            f"corner value exp(-1/sigma^2) must stay >= {_MIN_WINDOW:g} so every pixel gets a "
            f"positive weight), got {sigma!r}"
        ) from None


def gaussian_window(patch, sigma=1.0):
    r"""Weights of a patch's pixels: a Gaussian centred in the middle of the patch.

    With pixel :math:`(i, j)` of a :math:`P \times P` patch placed at
    :math:`u_i = \frac{2i}{P - 1} - 1 \in [-1, 1]` (the first pixel at -1, the last at +1;
    :math:`u = 0` when :math:`P = 1`) and likewise :math:`v_j`:

    .. math::
        w_{ij} = \exp\Big(-\frac{u_i^2 + v_j^2}{2 \sigma^2}\Big),

    so :math:`\sigma` is in units of half the patch: the paper's :math:`\sigma = 1` weighs
    the border midpoints :math:`e^{-1/2} \approx 0.61` and the corners :math:`e^{-1}
    \approx 0.37` of the centre (this reading of "a Gaussian kernel centered in the middle
    of the patch (:math:`\sigma = 1`)" is ours: a :math:`\sigma` of one pixel would leave
    every pixel but the centre with no weight). The peak is 1 for odd :math:`P` and just
    below 1 for even :math:`P` (no pixel at the exact centre).

    Parameters
    ----------
    patch : int
        :math:`P \geq 1`, the side of the square patch in pixels.
    sigma : float, optional
        Standard deviation in half-patch units; at least about 0.12 (so that the corners
        keep a weight above :math:`10^{-30}` in float32).

    Returns
    -------
    torch.Tensor of float32, shape (patch, patch)
        Symmetric, positive, separable: the outer product of one 1-D Gaussian with itself.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2: overlapping patches averaged with a Gaussian kernel, sigma = 1).

    Examples
    --------
    >>> w = gaussian_window(5, sigma=1.0)
    >>> w.shape, w.dtype
    (torch.Size([5, 5]), torch.float32)
    >>> round(float(w[2, 2]), 4), round(float(w[0, 2]), 4), round(float(w[0, 0]), 4)
    (1.0, 0.6065, 0.3679)
    """
    patch = check_int("patch", patch, ge=1)
    sigma = _check_sigma(sigma)
    if patch > 1:
        u = torch.linspace(-1.0, 1.0, patch, dtype=torch.float64)
    else:
        u = torch.zeros(1, dtype=torch.float64)
    g = torch.exp(-(u**2) / (2.0 * sigma**2))
    return torch.outer(g, g).to(torch.float32)


def _check_patch_overlap(patch, overlap):
    patch = check_int("patch", patch, ge=1)
    overlap = check_int("overlap", overlap, ge=0)
    if overlap >= patch:
        raise ValueError(
            f"overlap must be < patch (consecutive patches advance by patch - overlap >= 1 "
            f"pixel), got overlap={overlap} with patch={patch}"
        )
    return patch, overlap


def _origins(length, patch, stride):
    """Start of each patch along one axis: every ``stride``, the last ending at the border."""
    if length <= patch:
        return [0]
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def patch_grid(height, width, patch=256, overlap=200):
    r"""Top-left corners of the patches that cover a tile, row by row.

    Along each axis of length :math:`L` the patches start at
    :math:`0, s, 2s, \dots` with stride :math:`s = P - \text{overlap}` while they fit,

    .. math::
        t_k = k s \quad (t_k + P \leq L), \qquad \text{then } t = L - P
        \ \text{if the last } t_k + P < L,

    so the last row and column of patches end exactly at the border and every pixel is
    covered; consecutive patches overlap by at least ``overlap`` pixels (more for the last
    one). An axis shorter than the patch (:math:`L \leq P`) gets one patch at 0, which
    overhangs the tile (:func:`predict_tile` pads the tile for it).

    Parameters
    ----------
    height, width : int
        Size of the tile in pixels, >= 1.
    patch : int, optional
        Side :math:`P` of the square patches, >= 1.
    overlap : int, optional
        Overlap of consecutive patches, in [0, patch).

    Returns
    -------
    list of (int, int)
        ``(top, left)`` of each patch, rows outer, columns inner.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 5.2: patches with 200 pixels of overlap).

    Examples
    --------
    >>> patch_grid(10, 7, patch=4, overlap=1)
    [(0, 0), (0, 3), (3, 0), (3, 3), (6, 0), (6, 3)]
    >>> patch_grid(3, 5, patch=4, overlap=2)
    [(0, 0), (0, 1)]
    """
    height = check_int("height", height, ge=1)
    width = check_int("width", width, ge=1)
    patch, overlap = _check_patch_overlap(patch, overlap)
    stride = patch - overlap
    return [(top, left) for top in _origins(height, patch, stride) for left in _origins(width, patch, stride)]


def _reflect_indices(length, size):
    """Indices 0..size-1 into an axis of ``length``, mirrored past its end (numpy's
    'reflect': the edge pixel is not repeated), so that a short axis reaches ``size``."""
    idx = np.arange(size)
    if length == 1:
        return np.zeros(size, dtype=np.int64)
    period = 2 * (length - 1)
    idx = idx % period
    return np.where(idx < length, idx, period - idx).astype(np.int64)


def _is_real(dtype):
    """Whether a numpy dtype holds real numbers (integers or floats, not bool)."""
    return dtype != np.bool_ and (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))


def _as_tile(tile):
    """``tile`` as a real (C, H, W) tensor sharing memory with a numpy array when it can."""
    if isinstance(tile, np.ndarray):
        if not _is_real(tile.dtype):
            raise TypeError(f"tile must hold real numbers, got dtype {tile.dtype}")
        tile = torch.from_numpy(np.ascontiguousarray(tile))
    elif not isinstance(tile, torch.Tensor):
        raise TypeError(f"tile must be a torch.Tensor or numpy.ndarray (C, H, W), got {type(tile).__name__}")
    if tile.dtype == torch.bool or tile.dtype.is_complex:
        raise TypeError(f"tile must hold real numbers, got dtype {tile.dtype}")
    if tile.ndim != 3 or min(tile.shape) == 0:
        raise ValueError(f"tile must have shape (C, H, W) with C, H, W >= 1, got {tuple(tile.shape)}")
    return tile


def _model_device_dtype(model):
    """Device and floating dtype of the model's first parameter (or buffer); CPU float32 if none."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.float32


def predict_tile(model, tile, patch=256, overlap=200, sigma=1.0, batch_size=8, device=None, progress=False):
    r"""Class probabilities of a full tile from overlapping patches, Gaussian-weighted.

    The patches of :func:`patch_grid` (stride ``patch - overlap``, the last row and column
    ending at the border) go through the model in batches; each patch's softmax
    :math:`p^{(t)}` is weighted by :func:`gaussian_window` :math:`w` and, at every pixel
    :math:`x`, the weighted sum is divided by the sum of the weights of the patches
    :math:`t \ni x` that cover it:

    .. math::
        \hat{p}(x) = \frac{\sum_{t \ni x} w(x - o_t)\, \operatorname{softmax}
        \big(f_\theta(\mathbf{x}_t)\big)(x - o_t)}{\sum_{t \ni x} w(x - o_t)},

    with :math:`o_t` the top-left corner of patch :math:`t`. Far from the borders a pixel
    is predicted mostly by the patches in which it lies near the centre, where the network
    sees the most context. A tile smaller than the patch along an axis is mirrored past its
    end to the patch size (as Ronneberger et al. extrapolate missing context by mirroring)
    and the prediction cropped back, so the model always sees patches of one size.

    The model runs in eval mode (restored afterwards) under ``torch.no_grad``; each batch is
    copied to ``device`` in the model's dtype, and the sums are accumulated in place on the
    CPU in float32: memory is :math:`(K + 1) H W` floats plus one batch of patches (a
    2500 x 2000 tile with 6 classes: 120 MB). The tile itself stays where it is (a numpy
    array is not copied).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch (B, C, patch, patch) to logits (B, K, patch, patch), e.g.
        :class:`watlib.models.UNet` (whose ``patch`` must be a multiple of ``2 ** depth``).
    tile : torch.Tensor or numpy.ndarray, shape (C, H, W)
        The input image, real-valued (cast to the model's dtype batch by batch).
    patch : int, optional
        Side of the square patches, >= 1; 256 by default.
    overlap : int, optional
        Overlap of consecutive patches, in [0, patch); 200 (the paper) by default.
    sigma : float, optional
        Width of the Gaussian window in half-patch units (:func:`gaussian_window`); 1 (the
        paper) by default.
    batch_size : int, optional
        Patches per forward pass, >= 1.
    device : torch.device or str, optional
        Where the model runs; by default the device of its parameters.
    progress : bool, optional
        Show a tqdm bar over the batches.

    Returns
    -------
    torch.Tensor of float32, shape (K, H, W), on the CPU
        Class probabilities: non-negative, summing to 1 over K at every pixel.

    Raises
    ------
    ValueError
        ``overlap >= patch``, a bad ``sigma``, a tile not (C, H, W), or a model whose
        output is not (B, K, patch, patch).
    TypeError
        Arguments of the wrong type.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 5.2: full-tile prediction from patches with 200
       pixels of overlap averaged with a Gaussian kernel, sigma = 1).
    .. [2] Ronneberger, O., Fischer, P., Brox, T. (2015). U-Net: Convolutional Networks
       for Biomedical Image Segmentation. MICCAI 2015 (overlap-tile prediction, mirroring
       at the borders).

    Examples
    --------
    A 1x1 convolution predicts each pixel from itself, so the average of overlapping
    patches gives back its softmax exactly:

    >>> torch.manual_seed(0) is not None
    True
    >>> model = torch.nn.Conv2d(3, 4, kernel_size=1)
    >>> tile = torch.randn(3, 50, 37)
    >>> probs = predict_tile(model, tile, patch=16, overlap=6)
    >>> probs.shape
    torch.Size([4, 50, 37])
    >>> with torch.no_grad():
    ...     direct = model(tile[None]).softmax(dim=1)[0]
    >>> bool(torch.allclose(probs, direct, atol=1e-6))
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    patch, overlap = _check_patch_overlap(patch, overlap)
    window = gaussian_window(patch, sigma)
    batch_size = check_int("batch_size", batch_size, ge=1)
    check_bool("progress", progress)
    tile = _as_tile(tile)
    model_device, dtype = _model_device_dtype(model)
    device = model_device if device is None else torch.device(device)

    _, height, width = tile.shape
    if height < patch or width < patch:  # mirror a short axis up to the patch size
        rows = torch.from_numpy(_reflect_indices(height, max(height, patch))).to(tile.device)
        cols = torch.from_numpy(_reflect_indices(width, max(width, patch))).to(tile.device)
        tile = tile.index_select(1, rows).index_select(2, cols)
    full_height, full_width = tile.shape[1:]
    origins = patch_grid(full_height, full_width, patch, overlap)
    weights = torch.zeros(full_height, full_width, dtype=torch.float32)
    sums = None
    window_device = window.to(device)

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            starts = range(0, len(origins), batch_size)
            for start in tqdm(starts, desc="patches", unit="batch", disable=not progress):
                batch = origins[start : start + batch_size]
                x = torch.stack([tile[:, r : r + patch, c : c + patch] for r, c in batch])
                logits = model(x.to(device=device, dtype=dtype))
                if (not isinstance(logits, torch.Tensor) or logits.ndim != 4
                        or logits.shape[0] != len(batch) or tuple(logits.shape[2:]) != (patch, patch)
                        or (sums is not None and logits.shape[1] != sums.shape[0])):
                    got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                    expected_k = "K" if sums is None else sums.shape[0]
                    raise ValueError(
                        f"model must map a batch ({len(batch)}, C, {patch}, {patch}) to logits "
                        f"({len(batch)}, {expected_k}, {patch}, {patch}), got {got}"
                    )
                if sums is None:
                    sums = torch.zeros(logits.shape[1], full_height, full_width, dtype=torch.float32)
                weighted = (logits.float().softmax(dim=1) * window_device).cpu()
                for (r, c), p in zip(batch, weighted):
                    sums[:, r : r + patch, c : c + patch] += p
                    weights[r : r + patch, c : c + patch] += window
    finally:
        model.train(was_training)
    sums /= weights
    return sums[:, :height, :width].contiguous() if (full_height, full_width) != (height, width) else sums


@dataclass(frozen=True)
class SegmentationMetrics:
    r"""Scores of a segmentation, in % as in Table 3 (see :func:`metrics_from_confusion`).

    Attributes
    ----------
    class_names : tuple of str, length K
        The classes, in label order.
    f1 : dict of str to float or None
        F1 score of each class in %; None for a class absent from both the truth and the
        prediction (F1 undefined).
    average_f1 : float or None
        Mean of the defined F1 scores of the classes in ``average_over``, in %; None if
        none of them is defined.
    average_over : tuple of str
        The classes the average runs over.
    overall_accuracy : float
        Share of the pixels predicted right, in %.
    confusion : numpy.ndarray, shape (K, K)
        ``[i, j]``: pixels of true class i predicted j.

    Examples
    --------
    >>> m = metrics_from_confusion(np.array([[3, 1], [0, 4]]), class_names=["road", "car"])
    >>> {name: round(f, 2) for name, f in m.f1.items()}, round(m.average_f1, 2), m.overall_accuracy
    ({'road': 85.71, 'car': 88.89}, 87.3, 87.5)
    """

    class_names: tuple
    f1: dict
    average_f1: float | None
    average_over: tuple
    overall_accuracy: float
    confusion: np.ndarray


def confusion_matrix_of(y_true, y_pred, num_classes):
    r"""Pixel confusion matrix of a label map against the truth (scikit-learn's).

    .. math::
        C_{ij} = \#\{x : y(x) = i,\ \hat{y}(x) = j\},

    rows the truth, columns the prediction, every class present (zeros included). The
    matrices of several tiles add up: score a test set with
    ``metrics_from_confusion(sum(confusion_matrix_of(y, p, K) for y, p in tiles))``.

    Parameters
    ----------
    y_true : numpy.ndarray or torch.Tensor of integers, any shape (e.g. (H, W))
        True classes in [0, num_classes); at least one pixel.
    y_pred : numpy.ndarray or torch.Tensor of integers, shape of ``y_true``
        Predicted classes in [0, num_classes) (e.g. ``predict_tile(...).argmax(0)``).
    num_classes : int
        K >= 1 (6 for Vaihingen).

    Returns
    -------
    numpy.ndarray of int64, shape (K, K)

    References
    ----------
    .. [1] Pedregosa, F. et al. (2011). Scikit-learn: Machine Learning in Python. JMLR 12,
       2825-2830 (``sklearn.metrics.confusion_matrix``).

    Examples
    --------
    >>> confusion_matrix_of(np.array([[0, 0], [1, 2]]), np.array([[0, 1], [1, 2]]), num_classes=3)
    array([[1, 1, 0],
           [0, 1, 0],
           [0, 0, 1]])
    """
    K = check_int("num_classes", num_classes, ge=1)
    truth = check_labels(y_true, "y_true", K)
    pred = check_labels(y_pred, "y_pred", K)
    if truth.shape != pred.shape:
        raise ValueError(f"y_pred must have the shape of y_true, got {pred.shape} and {truth.shape}")
    if truth.size == 0:
        raise ValueError("y_true must hold at least one pixel, got an empty array")
    return confusion_matrix(truth.reshape(-1), pred.reshape(-1), labels=np.arange(K)).astype(np.int64)


def _check_confusion(cm):
    if isinstance(cm, torch.Tensor):
        cm = cm.detach().cpu().numpy()
    arr = np.asarray(cm)
    if not _is_real(arr.dtype):
        raise TypeError(f"cm must hold pixel counts (real numbers), got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"cm must be a non-empty square (K, K) matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        i, j = np.argwhere(~np.isfinite(arr) | (arr < 0))[0]
        raise ValueError(f"cm must hold finite counts >= 0, got cm[{i}, {j}] = {arr[i, j].item()!r}")
    if arr.sum() <= 0:
        raise ValueError("cm must count at least one pixel, got a matrix of zeros")
    return arr


def _check_names(names, K):
    if names is None:
        return tuple(f"class {k}" for k in range(K))
    if (isinstance(names, (str, bytes)) or not isinstance(names, Sequence)
            or not all(isinstance(n, str) for n in names)):
        raise TypeError(f"class_names must be a sequence of str, got {names!r}")
    if len(names) != K or len(set(names)) != K:
        raise ValueError(f"class_names must be {K} distinct names (one per class), got {list(names)!r}")
    return tuple(names)


def _class_index(item, names, argname):
    """The index of class ``item`` (an index in [0, K) or one of ``names``)."""
    if isinstance(item, str):
        if item not in names:
            raise ValueError(f"{argname} names a class not in {list(names)}: {item!r}")
        return names.index(item)
    return check_int(argname, item, ge=0, lt=len(names))


def _check_average_over(average_over, ignore_class, names):
    """The indices of the classes of the average F1."""
    K = len(names)
    if ignore_class is not None:
        if average_over is not None:
            raise ValueError(
                f"give average_over or ignore_class, not both: got average_over={average_over!r} "
                f"and ignore_class={ignore_class!r}"
            )
        ignored = _class_index(ignore_class, names, "ignore_class")
        return tuple(k for k in range(K) if k != ignored)
    if average_over is None:
        return tuple(range(K))
    if isinstance(average_over, str):
        if average_over != "all":
            raise ValueError(
                f"average_over must be None, 'all' or a sequence of classes, got {average_over!r}"
            )
        return tuple(range(K))
    if not isinstance(average_over, Sequence) or len(average_over) == 0:
        raise TypeError(
            f"average_over must be None, 'all' or a non-empty sequence of classes, got {average_over!r}"
        )
    chosen = []
    for item in average_over:
        if not isinstance(item, (str, int, np.integer)) or isinstance(item, bool):
            raise TypeError(f"average_over must hold class indices or names, got {item!r}")
        if not isinstance(item, str) and not 0 <= item < K:
            raise ValueError(f"average_over must hold classes in [0, {K}), got {item}")
        chosen.append(_class_index(item, names, "average_over"))
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"average_over must not repeat a class, got {average_over!r}")
    return tuple(chosen)


def metrics_from_confusion(cm, class_names=None, average_over=None, ignore_class=None):
    r"""Per-class F1, average F1 and overall accuracy (in %) of a confusion matrix.

    With :math:`C_{ij}` the pixels of true class :math:`i` predicted :math:`j`:

    .. math::
        \begin{aligned}
        F_1(k) &= 100 \cdot \frac{2 C_{kk}}{\sum_j C_{kj} + \sum_i C_{ik}}, \qquad
        \overline{F_1} = \frac{1}{|S|} \sum_{k \in S} F_1(k),\\
        \mathrm{OA} &= 100 \cdot \frac{\sum_k C_{kk}}{\sum_{ij} C_{ij}},
        \end{aligned}

    (:math:`2\,\mathrm{TP} / (2\,\mathrm{TP} + \mathrm{FP} + \mathrm{FN})`, scikit-learn's
    ``f1_score``). The overall accuracy counts every pixel. The average runs over a set
    :math:`S` of classes, all of them unless the caller says otherwise: ``ignore_class``
    leaves one out, ``average_over`` lists them. Table 3 averages Vaihingen's five classes
    **without clutter** (the paper's average F1 is their mean:
    79.20 = mean(90.29, 58.91, 85.76, 76.32, 84.72)), so its scores are
    ``metrics_from_confusion(cm, class_names=watlib.data.VAIHINGEN_CLASSES, ignore_class="clutter")``.

    A class absent from both the truth and the prediction has no F1 (0 / 0): it is reported
    as None and left out of the average, never as NaN nor 0 (scikit-learn's
    ``zero_division`` would give 0 and pull the average down). If no class of :math:`S` has
    an F1, the average is None.

    Parameters
    ----------
    cm : numpy.ndarray or torch.Tensor, shape (K, K)
        Pixel counts (rows: truth), e.g. a sum of :func:`confusion_matrix_of` over tiles;
        finite, non-negative, at least one pixel.
    class_names : sequence of str, optional
        K distinct names (e.g. ``watlib.data.dataset_info("vaihingen").classes``); by
        default ``"class 0"``, ``"class 1"``, ...
    average_over : None, "all" or sequence of int or str, optional
        The classes of the average F1 (indices or names). None or ``"all"``: every class
        (but ``ignore_class``).
    ignore_class : int or str, optional
        One class (index or name) left out of the average F1, and only of it (its F1 and
        its pixels in the overall accuracy stay); for Table 3, ``"clutter"``. Not together
        with ``average_over``.

    Returns
    -------
    SegmentationMetrics
        ``f1`` (dict name -> % or None), ``average_f1``, ``average_over``,
        ``overall_accuracy`` (%), ``class_names`` and the ``confusion`` matrix.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 3: per-class F1, average F1 and overall accuracy on
       Vaihingen, clutter not shown).
    .. [2] Pedregosa, F. et al. (2011). Scikit-learn: Machine Learning in Python. JMLR 12,
       2825-2830.

    Examples
    --------
    >>> cm = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    >>> m = metrics_from_confusion(cm)
    >>> {name: None if f is None else round(f, 2) for name, f in m.f1.items()}
    {'class 0': 84.21, 'class 1': 85.71, 'class 2': None}
    >>> round(m.average_f1, 2), m.average_over, m.overall_accuracy
    (84.96, ('class 0', 'class 1', 'class 2'), 85.0)

    Leaving a class out of the average is the caller's choice:

    >>> m = metrics_from_confusion(np.array([[9, 1], [3, 1]]), class_names=["road", "clutter"],
    ...                            ignore_class="clutter")
    >>> m.average_over, round(m.average_f1, 2), round(m.f1["clutter"], 2), round(m.overall_accuracy, 2)
    (('road',), 81.82, 33.33, 71.43)
    """
    arr = _check_confusion(cm)
    K = arr.shape[0]
    names = _check_names(class_names, K)
    chosen = _check_average_over(average_over, ignore_class, names)
    counts = arr.astype(np.float64)
    tp = np.diag(counts)
    denominator = counts.sum(axis=1) + counts.sum(axis=0)
    f1 = {
        name: float(100.0 * 2.0 * tp[k] / denominator[k]) if denominator[k] > 0 else None
        for k, name in enumerate(names)
    }
    defined = [f1[names[k]] for k in chosen if f1[names[k]] is not None]
    return SegmentationMetrics(
        class_names=names,
        f1=f1,
        average_f1=float(np.mean(defined)) if defined else None,
        average_over=tuple(names[k] for k in chosen),
        overall_accuracy=float(100.0 * tp.sum() / counts.sum()),
        confusion=arr.copy(),
    )


def segmentation_metrics(y_true, y_pred, num_classes, class_names=None, average_over=None, ignore_class=None):
    r"""Per-class F1, average F1 and overall accuracy (in %) of a predicted label map.

    :func:`metrics_from_confusion` of :func:`confusion_matrix_of`:

    .. math::
        F_1(k) = 100 \cdot \frac{2\,\mathrm{TP}_k}{2\,\mathrm{TP}_k + \mathrm{FP}_k +
        \mathrm{FN}_k}, \qquad \mathrm{OA} = 100 \cdot \frac{\#\{x : \hat{y}(x) = y(x)\}}
        {\#\{x\}}.

    For several tiles, sum their :func:`confusion_matrix_of` and call
    :func:`metrics_from_confusion` once (the scores of the union of the pixels, as the
    paper's "computed on the full test ground truth"), rather than averaging per-tile scores.

    Parameters
    ----------
    y_true : numpy.ndarray or torch.Tensor of integers, any shape (e.g. (H, W))
        True classes in [0, num_classes).
    y_pred : numpy.ndarray or torch.Tensor of integers, shape of ``y_true``
        Predicted classes in [0, num_classes).
    num_classes : int
        K >= 1 (6 for Vaihingen).
    class_names : sequence of str, optional
        See :func:`metrics_from_confusion`.
    average_over : None, "all" or sequence of int or str, optional
        See :func:`metrics_from_confusion` (default: every class).
    ignore_class : int or str, optional
        See :func:`metrics_from_confusion` (Table 3: ``"clutter"``).

    Returns
    -------
    SegmentationMetrics

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Table 3).
    .. [2] Pedregosa, F. et al. (2011). Scikit-learn: Machine Learning in Python. JMLR 12,
       2825-2830.

    Examples
    --------
    Table 3's scores of a Vaihingen map, clutter left out of the average:

    >>> from watlib.data import dataset_info
    >>> names = dataset_info("vaihingen").classes
    >>> y = np.array([[0, 0, 1], [4, 4, 5]])
    >>> p = np.array([[0, 0, 1], [0, 4, 5]])
    >>> m = segmentation_metrics(y, p, 6, class_names=names, ignore_class="clutter")
    >>> round(m.f1["impervious surfaces"], 2), round(m.f1["car"], 2), m.f1["tree"]
    (80.0, 66.67, None)
    >>> len(m.average_over), round(m.average_f1, 2), round(m.overall_accuracy, 2)
    (5, 82.22, 83.33)
    """
    cm = confusion_matrix_of(y_true, y_pred, num_classes)
    return metrics_from_confusion(cm, class_names=class_names, average_over=average_over,
                                  ignore_class=ignore_class)
