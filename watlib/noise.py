r"""Label noise: the class-conditional flips of the paper's experiments (Section 5.1).

Convention
----------
A noise transition matrix :math:`\mathbf{T}` here is **row-stochastic**, as in Patrini et
al. (2017):

.. math::
    \mathbf{T}_{ij} = P(\tilde{y} = j \mid y = i), \qquad
    \sum_{j} \mathbf{T}_{ij} = 1,

row :math:`i` is the true (clean) class :math:`y`, column :math:`j` the noisy label
:math:`\tilde{y}`. cleanlab's ``noise_matrix`` (Northcutt et al., 2021) is the transpose,
**column-stochastic**: ``noise_matrix[i][j]`` :math:`= P(\tilde{y} = i \mid y = j)`, so
``noise_matrix == T.T`` and ``T == noise_matrix.T``.

Matrices are ``numpy.float64`` arrays: they describe the data, are built once before training
and never carry gradients (``torch.as_tensor(T, device=...)`` where a loss needs one).

- :func:`transition_matrix`: the asymmetric noise of the paper for Fashion-MNIST, CIFAR-10
  and CIFAR-100 (with the variants of the authors' released code and of CIFAR-100's real
  superclasses), and symmetric noise for any number of classes.
- :func:`corrupt_labels`: draws noisy labels from the rows of a transition matrix.
- :func:`noise_report`: the realised noise, an empirical transition matrix and flip rate.
- :func:`object_noise`: the object-level noise of the segmentation experiment (Section 5.2):
  whole connected components of a label map relabelled along the plausible confusions of
  :data:`VAIHINGEN_CONFUSIONS`, with an :class:`ObjectNoiseReport` of what changed.

The first three flip single labels, independently; :func:`object_noise` is a different
mechanism: it flips objects, so its pixel-level flip rate is a consequence (reported), not a
parameter.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from ._checks import check_choice, check_int, check_labels, check_real, check_row_stochastic
from .data.registry import NOISE_DATASETS, dataset_info
from .paper import SEGMENTATION

__all__ = [
    "transition_matrix",
    "corrupt_labels",
    "noise_report",
    "VAIHINGEN_CONFUSIONS",
    "ObjectNoiseReport",
    "object_noise",
]


# The variants of the family "symmetric" (any K); the data sets' own variants are their
# registry entries' (DatasetInfo.noise, watlib.data.registry), the first the default.
_SYMMETRIC_VARIANTS = ("uniform",)


def _flip_matrix(K, flips, rate):
    """The identity of size K, then for each ``(i, j, share)`` of ``flips``: 1 - p at
    ``T[i, i]`` and share * p at ``T[i, j]``."""
    T = np.eye(K, dtype=np.float64)
    for i, j, share in flips:
        T[i, i] = 1.0 - rate
        T[i, j] = share * rate
    return T


def transition_matrix(dataset, rate, variant=None, num_classes=None):
    r"""The noise transition matrix of the paper's experiments at flip rate :math:`p`.

    Row-stochastic (Patrini et al.'s convention, not cleanlab's; see the module docstring):

    .. math::
        \begin{aligned}
        \mathbf{T}_{ij} &= P(\tilde{y} = j \mid y = i),\\
        \mathbf{T}_{ii} &= 1 - p \ \text{for a source class } i, \qquad
        \mathbf{T}_{ii} = 1 \ \text{for a class that never flips}.
        \end{aligned}

    The rate :math:`p` is the probability that a sample of a *source* class gets another
    label; with :math:`s_{ij}` the share of target :math:`j` (:math:`\sum_j s_{ij} = 1`),
    :math:`\mathbf{T}_{ij} = s_{ij} \, p`. Labels are torchvision's
    (:func:`watlib.data.dataset_info <watlib.data.registry.dataset_info>`). Asymmetric noise
    (``a -> b``: ``a`` becomes ``b``):

    ``fashion_mnist``, variant ``"paper"`` (default; Section 5.1's text, classes swapped
    where a t-SNE of a clean model showed them mixed)

    ====================  ==================  =======
    source                target              share
    ====================  ==================  =======
    Dress (3)             T-shirt/top (0)     1
    Coat (4)              Shirt (6)           1
    Shirt (6)             Coat (4)            1/2
    Shirt (6)             Pullover (2)        1/2
    Sandal (5)            Sneaker (7)         1
    Ankle boot (9)        Sneaker (7)         1
    ====================  ==================  =======

    Shirt is the only class with two targets. Its :math:`p` is split evenly, so that Shirt,
    like every source class, keeps its label with probability :math:`1 - p` and the noise
    level means the same for all classes; the authors' code splits evenly too for its
    multi-target classes of other datasets.

    ``fashion_mnist``, variant ``"released"`` (the matrix of the authors' released code,
    bbdamodaran/WAR; its comments say 9 -> 7 and 6 -> 2 as the paper does, its matrix sets
    9 -> 1 and 2 -> 6, and Shirt's only target is Coat):
    Ankle boot (9) -> Trouser (1), Sandal (5) -> Sneaker (7), Pullover (2) -> Shirt (6),
    Coat (4) -> Shirt (6), Shirt (6) -> Coat (4), Dress (3) -> T-shirt/top (0), each with
    share 1.

    ``cifar10``, variant ``"pairs"`` (Patrini et al.): truck (9) -> automobile (1),
    bird (2) -> airplane (0), deer (4) -> horse (7), cat (3) -> dog (5), dog (5) -> cat (3),
    each with share 1. Airplane, automobile, frog, horse and ship never flip.

    ``cifar100``, variant ``"blocks"`` (default; Patrini et al.'s construction, the one
    behind the paper's numbers): the fine labels are cut into the 20 blocks of consecutive
    indices :math:`\{5b, \dots, 5b + 4\}` and within a block label :math:`i` becomes
    :math:`i + 1`, the last becoming the first:
    :math:`5b \to 5b+1 \to 5b+2 \to 5b+3 \to 5b+4 \to 5b`. Patrini et al. meant the blocks
    to be superclasses, but torchvision's fine labels are alphabetical, so they are not:
    block 0 is apple -> aquarium_fish -> baby -> bear -> beaver -> apple; none of the 20
    blocks is a real superclass, and no block has more than 2 labels in one superclass.

    ``cifar100``, variant ``"superclass"``: the same cycle within each of the 20 real superclasses
    (:func:`watlib.data.cifar100_superclasses <watlib.data.classification.cifar100_superclasses>`,
    Krizhevsky's table), in alphabetical order (= label-index order), e.g. maple_tree -> oak_tree ->
    palm_tree -> pine_tree -> willow_tree -> maple_tree, beaver -> dolphin -> otter -> seal -> whale
    -> beaver. Every class flips, in both CIFAR-100 variants.

    ``symmetric``, variant ``"uniform"``, for ``num_classes`` :math:`= K \ge 2` classes:
    :math:`\mathbf{T}_{ii} = 1 - p` and :math:`\mathbf{T}_{ij} = p / (K - 1)` for
    :math:`j \neq i`. The diagonal does *not* get a share :math:`p / K` (as in the
    definitions where a flipped label is drawn uniformly among all K classes), so that, as
    in the asymmetric case, :math:`p` is exactly the probability that a label changes.

    Parameters
    ----------
    dataset : str
        ``"fashion_mnist"`` (K = 10), ``"cifar10"`` (K = 10), ``"cifar100"`` (K = 100), another
        data set of :data:`watlib.data.registry.NOISE_DATASETS` (its entry's ``noise``: the
        flips of each variant), or ``"symmetric"`` (any K, given by ``num_classes``).
    rate : float
        The flip probability :math:`p` of a sample of a source class, in [0, 1].
    variant : str, optional
        ``"paper"`` or ``"released"`` for ``fashion_mnist``, ``"pairs"`` for ``cifar10``,
        ``"blocks"`` or ``"superclass"`` for ``cifar100``, ``"uniform"`` for ``symmetric``.
        None (default) picks the first of these.
    num_classes : int, optional
        K; required for ``"symmetric"`` (K >= 2). For a named dataset it may be omitted or
        must equal that dataset's K.

    Returns
    -------
    T : numpy.ndarray of float64, shape (K, K)
        Row-stochastic: :math:`\mathbf{T}_{ij} \geq 0`, :math:`\sum_j \mathbf{T}_{ij} = 1`.
        cleanlab's ``noise_matrix`` is ``T.T``. A new array on each call.

    References
    ----------
    .. [1] Patrini, G., Rozza, A., Krishna Menon, A., Nock, R., Qu, L. (2017). Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach. CVPR, 1944-1952
       (the CIFAR-10 pairs, the CIFAR-100 blocks and the row-stochastic T).
    .. [2] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.1: the Fashion-MNIST flips).
    .. [3] Northcutt, C. G., Jiang, L., Chuang, I. L. (2021). Confident Learning:
       Estimating Uncertainty in Dataset Labels. Journal of Artificial Intelligence
       Research 70, 1373-1411 (cleanlab's column-stochastic noise matrix).
    .. [4] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.

    Examples
    --------
    Shirt (row 6) keeps its label with probability 0.6 and goes to Pullover (2) or Coat (4)
    with 0.2 each; Trouser (1) never flips:

    >>> T = transition_matrix("fashion_mnist", 0.4)
    >>> print(T[6])
    [0.  0.  0.2 0.  0.2 0.  0.6 0.  0.  0. ]
    >>> print(T[1])
    [0. 1. 0. 0. 0. 0. 0. 0. 0. 0.]
    >>> noise_matrix = T.T  # cleanlab's convention: P(noisy = i | true = j)
    >>> bool(np.allclose(T.sum(axis=1), 1)), bool(np.allclose(noise_matrix.sum(axis=0), 1))
    (True, True)

    Symmetric noise among 4 classes:

    >>> print(transition_matrix("symmetric", 0.3, num_classes=4))
    [[0.7 0.1 0.1 0.1]
     [0.1 0.7 0.1 0.1]
     [0.1 0.1 0.7 0.1]
     [0.1 0.1 0.1 0.7]]
    """
    check_choice("dataset", dataset, (*NOISE_DATASETS, "symmetric"))
    rate = check_real("rate", rate, ge=0, le=1)
    info = None if dataset == "symmetric" else dataset_info(dataset)
    valid = _SYMMETRIC_VARIANTS if info is None else tuple(info.noise)
    if variant is None:
        variant = valid[0]
    elif not isinstance(variant, str):
        raise TypeError(f"variant must be a str or None, got {type(variant).__name__} {variant!r}")
    elif variant not in valid:
        raise ValueError(
            f"variant must be one of {list(valid)} for dataset {dataset!r} "
            f"(None means {valid[0]!r}), got {variant!r}"
        )

    if dataset == "symmetric":
        if num_classes is None:
            raise ValueError("num_classes must be given (an int >= 2) for dataset 'symmetric'")
        K = check_int("num_classes", num_classes, ge=2)
        T = np.full((K, K), rate / (K - 1), dtype=np.float64)
        np.fill_diagonal(T, 1.0 - rate)
        return T

    names = list(info.classes)
    K = len(names)
    if num_classes is not None and check_int("num_classes", num_classes, ge=1) != K:
        raise ValueError(
            f"num_classes must be None or {K} (the classes of {dataset!r}), got {num_classes}"
        )
    flips = [(names.index(source), names.index(target), share) for source, target, share in info.noise[variant]]
    return _flip_matrix(K, flips, rate)


def _check_matrix(T):
    """``T`` as a float64 numpy array checked to be square and row-stochastic."""
    return check_row_stochastic("T", T)


def _check_seed(seed):
    """``seed`` as a numpy Generator: from a non-negative int, or a Generator as given."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be a non-negative int or a numpy.random.Generator, "
            f"got {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return np.random.default_rng(int(seed))


def corrupt_labels(labels, T, seed):
    r"""Noisy labels drawn from the rows of a row-stochastic transition matrix.

    Each label :math:`y_n = i` is replaced, independently, by a draw from row :math:`i` of
    :math:`\mathbf{T}` (row-stochastic, :math:`\mathbf{T}_{ij} = P(\tilde{y} = j \mid y =
    i)`; cleanlab's column-stochastic ``noise_matrix`` must be transposed first):

    .. math::
        \begin{aligned}
        \tilde{y}_n &= \min \Big\{ j : u_n < \textstyle\sum_{k \le j} \mathbf{T}_{ik}
        \Big\}, \qquad u_n \sim \mathcal{U}[0, 1) \ \text{i.i.d.},\\
        P(\tilde{y}_n = j \mid y_n = i) &= \mathbf{T}_{ij}.
        \end{aligned}

    The uniforms come from ``numpy.random.default_rng(seed)``, one per label in C order
    (``rng.random(labels.size)``), whatever the device of ``labels``: the same seed gives the
    same noisy labels, and a CUDA tensor the same ones as its CPU copy. A label whose row
    is that of the identity never changes; an entry :math:`\mathbf{T}_{ij} = 0` is never
    drawn. Each row is divided by its sum (1 within :math:`10^{-6}`) so that its cumulative
    sum ends at exactly 1. With one seed, the samples flipped at rate :math:`p` are a subset
    of those flipped at any larger rate, for every matrix of :func:`transition_matrix` (each
    off-diagonal entry grows with :math:`p`, so the flipping interval
    :math:`[0, \sum_{k<i} \mathbf{T}_{ik}) \cup [\sum_{k \le i} \mathbf{T}_{ik}, 1)` of
    :math:`u_n` only widens); the targets of a flipped sample may differ between rates.

    Parameters
    ----------
    labels : numpy.ndarray or torch.Tensor of integers, any shape (e.g. (n,))
        True labels in :math:`[0, K)`; a list of ints is read as a numpy array.
    T : array-like or torch.Tensor, shape (K, K)
        Row-stochastic transition matrix: finite, non-negative, rows summing to 1 within
        :math:`10^{-6}`, e.g. :func:`transition_matrix`.
    seed : int or numpy.random.Generator
        A non-negative int seeds ``numpy.random.default_rng``; a Generator is used (and
        advanced) as given.

    Returns
    -------
    noisy : numpy.ndarray or torch.Tensor, shape of ``labels``
        The type, dtype, shape (and for a tensor, device) of ``labels``; a list gives a
        numpy array. ``labels`` is not modified.

    References
    ----------
    .. [1] Patrini, G., Rozza, A., Krishna Menon, A., Nock, R., Qu, L. (2017). Making Deep
       Neural Networks Robust to Label Noise: a Loss Correction Approach. CVPR, 1944-1952.
    .. [2] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 5.1: noise in the training labels only).
    .. [3] Northcutt, C. G., Jiang, L., Chuang, I. L. (2021). Confident Learning:
       Estimating Uncertainty in Dataset Labels. Journal of Artificial Intelligence
       Research 70, 1373-1411.

    Examples
    --------
    >>> T = transition_matrix("cifar10", 0.4)
    >>> y = np.repeat(np.arange(10), 1000)
    >>> y_noisy = corrupt_labels(y, T, seed=0)
    >>> bool((corrupt_labels(y, T, seed=0) == y_noisy).all())
    True
    >>> sorted(set(y_noisy[y == 3].tolist()))  # cat stays cat or becomes dog
    [3, 5]
    >>> bool((y_noisy[y == 6] == 6).all())  # frog never flips
    True
    >>> corrupt_labels(torch.tensor([9, 9, 9, 9]), transition_matrix("cifar10", 1.0), seed=0)
    tensor([1, 1, 1, 1])
    """
    T = _check_matrix(T)
    K = T.shape[0]
    arr = check_labels(labels, "labels", K)
    if K - 1 > np.iinfo(arr.dtype).max:
        raise ValueError(
            f"labels of dtype {arr.dtype} cannot hold label {K - 1} of the {K} classes of T"
        )
    rng = _check_seed(seed)
    flat = arr.reshape(-1)
    u = rng.random(flat.size)
    cdf = np.cumsum(T, axis=1)
    cdf /= cdf[:, -1:]
    noisy = np.empty_like(flat)
    for i in np.unique(flat):
        mask = flat == i
        noisy[mask] = np.searchsorted(cdf[i], u[mask], side="right")
    noisy = noisy.reshape(arr.shape)
    if isinstance(labels, torch.Tensor):
        return torch.from_numpy(noisy).to(device=labels.device, dtype=labels.dtype)
    return noisy


def noise_report(y_clean, y_noisy, num_classes):
    r"""The realised noise of noisy labels: empirical transition matrix and flip rate.

    With :math:`N_{ij}` the number of samples of true class :math:`i` labelled :math:`j`
    (the confusion matrix of the labels) and :math:`n` the number of samples:

    .. math::
        \hat{\mathbf{T}}_{ij} = \frac{N_{ij}}{\sum_{k} N_{ik}}, \qquad
        \hat{p} = \frac{1}{n} \sum_{m=1}^{n} \mathbb{1}[\tilde{y}_m \neq y_m]
        = 1 - \frac{1}{n} \sum_i N_{ii},

    row-stochastic like :func:`transition_matrix` (rows: true class), so the two can be
    shown side by side. A class with no clean sample gets a row of zeros (its rate is
    undefined; no NaN is produced). :math:`1 - \hat{\mathbf{T}}_{ii}` is the realised flip
    rate of class :math:`i`.

    Parameters
    ----------
    y_clean : numpy.ndarray or torch.Tensor of integers, any shape (e.g. (n,))
        True labels in [0, num_classes); at least one.
    y_noisy : numpy.ndarray or torch.Tensor of integers, shape of ``y_clean``
        Noisy labels in [0, num_classes).
    num_classes : int
        K >= 1.

    Returns
    -------
    T_hat : numpy.ndarray of float64, shape (K, K)
        Row-normalised confusion matrix.
    flip_rate : float
        Fraction of samples whose label changed.

    References
    ----------
    .. [1] Patrini, G. et al. (2017). Making Deep Neural Networks Robust to Label Noise: a
       Loss Correction Approach. CVPR, 1944-1952.
    .. [2] Northcutt, C. G., Jiang, L., Chuang, I. L. (2021). Confident Learning:
       Estimating Uncertainty in Dataset Labels. Journal of Artificial Intelligence
       Research 70, 1373-1411 (its confident joint, an estimate of the same counts).

    Examples
    --------
    >>> T_hat, flip_rate = noise_report([0, 0, 0, 0, 1, 2], [0, 0, 0, 1, 1, 2], 3)
    >>> print(T_hat)
    [[0.75 0.25 0.  ]
     [0.   1.   0.  ]
     [0.   0.   1.  ]]
    >>> round(flip_rate, 4)
    0.1667
    """
    K = check_int("num_classes", num_classes, ge=1)
    clean = check_labels(y_clean, "y_clean", K)
    noisy = check_labels(y_noisy, "y_noisy", K)
    if clean.shape != noisy.shape:
        raise ValueError(
            f"y_noisy must have the shape of y_clean, got {noisy.shape} and {clean.shape}"
        )
    if clean.size == 0:
        raise ValueError("y_clean must hold at least one label, got an empty array")
    clean = clean.reshape(-1).astype(np.int64)
    noisy = noisy.reshape(-1).astype(np.int64)
    counts = np.bincount(clean * K + noisy, minlength=K * K).reshape(K, K).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    T_hat = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return T_hat, float(np.mean(clean != noisy))


# Plausible labelling errors of the ISPRS Vaihingen classes (Section 5.2: "a car could be
# mislabeled to an impervious surface, but not to a building or a tree"), as
# {true class: the labels an annotator could plausibly give a whole object of it}. The
# relation is symmetric (if A can be taken for B, B can be taken for A) except for cars:
# a small object can vanish into the surface it stands on, not the reverse (a whole road or
# parking lot is never drawn as a car).
VAIHINGEN_CONFUSIONS = types.MappingProxyType({
    # impervious surfaces -> building (a paved courtyard or terrace drawn as part of the
    # house; flat roofs and pavement look alike from above), low vegetation (gravel, grass
    # pavers, weedy or unkempt paved patches), clutter (paved yards full of objects,
    # construction areas). Never car (a road is not a car) nor tree (canopy over a road
    # hides it, but the road is still drawn as road).
    0: (1, 2, 5),
    # building -> impervious surfaces (flat roofs, roof terraces at ground level in a true
    # orthophoto), clutter (sheds, carports, greenhouses: small structures on the border of
    # what counts as a building). Never vegetation or car.
    1: (0, 5),
    # low vegetation -> impervious surfaces (dry or sparse grass, gravel), tree (shrubs and
    # hedges: only height separates them), clutter (bare soil, gardens with objects).
    2: (0, 3, 5),
    # tree -> low vegetation only (the same vegetation, told apart by height; a tree is
    # never drawn as a building, a road or a car).
    3: (2,),
    # car -> impervious surfaces only: the paper's example (a parked or occluded car merged
    # into the road or parking lot it stands on; never a building or a tree).
    4: (0,),
    # clutter -> impervious surfaces (objects on pavement), building (small structures),
    # low vegetation (bare soil, overgrown plots).
    5: (0, 1, 2),
})
"""Vaihingen's confusion table for :func:`object_noise` (read-only): class -> allowed noisy labels.

Classes in the ISPRS order (``watlib.data.dataset_info("vaihingen").classes``): 0 impervious
surfaces, 1 building, 2 low vegetation, 3 tree, 4 car, 5 clutter. The comments in the source
give the reasoning for each row. Pass it, with ``num_classes=6``, to :func:`object_noise`."""

# Neighbourhoods of scipy.ndimage.label by number of neighbours of a pixel.
_CONNECTIVITY_RANK = {4: 1, 8: 2}


@dataclass(frozen=True)
class ObjectNoiseReport:
    r"""What :func:`object_noise` changed.

    Attributes
    ----------
    num_classes : int
        K.
    connectivity : int
        4 or 8: the neighbourhood that defined the objects.
    components_per_class : numpy.ndarray of int64, shape (K,)
        Number of connected components (objects) of each class in the clean map.
    n_components : int
        Their total.
    n_eligible : int
        Components of a class with at least one allowed confusion (the candidates).
    n_flipped : int
        Components relabelled, ``round(fraction * n_eligible)``.
    flips : tuple of (int, int, int)
        ``(size in pixels, clean class, noisy class)`` of each flipped component, in the
        order of the components (class by class, then raster order of their first pixel).
    pixel_flip_rate : float
        Fraction of the pixels whose label changed,
        :math:`\frac{1}{HW} \sum_{\text{flips}} \text{size}`.
    component_counts : numpy.ndarray of int64, shape (K, K)
        ``[i, j]``: components of clean class i labelled j in the noisy map (the diagonal
        counts the components kept).
    pixel_counts : numpy.ndarray of int64, shape (K, K)
        ``[i, j]``: pixels of clean class i labelled j (the confusion matrix of the noisy
        map against the clean one; ``pixel_counts / pixel_counts.sum(1, keepdims=True)`` is
        the realised transition matrix of :func:`noise_report`).

    Examples
    --------
    >>> y = np.array([[0, 0, 4, 0],
    ...               [0, 0, 0, 0]])
    >>> _, report = object_noise(y, 6, {4: (0,)}, fraction=1.0, seed=0)
    >>> report.n_components, report.n_eligible, report.flips, report.pixel_flip_rate
    (2, 1, ((1, 4, 0),), 0.125)
    >>> int(report.pixel_counts[4, 0]), int(report.component_counts[0, 0])
    (1, 1)
    """

    num_classes: int
    connectivity: int
    components_per_class: np.ndarray
    n_components: int
    n_eligible: int
    n_flipped: int
    flips: tuple
    pixel_flip_rate: float
    component_counts: np.ndarray
    pixel_counts: np.ndarray


def _check_confusions(confusions, num_classes):
    """The confusion table as {class: tuple of targets}, every index checked."""
    if not isinstance(confusions, Mapping):
        raise TypeError(
            f"confusions must be a mapping class -> tuple of allowed noisy classes, "
            f"got {type(confusions).__name__}"
        )
    table = {}
    for key, targets in confusions.items():
        source = check_int("a class of confusions", key, ge=0, lt=num_classes)
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
            raise TypeError(
                f"confusions[{source}] must be a sequence of class indices, "
                f"got {type(targets).__name__} {targets!r}"
            )
        checked = tuple(check_int(f"confusions[{source}][{n}]", t, ge=0, lt=num_classes)
                        for n, t in enumerate(targets))
        if source in checked:
            raise ValueError(
                f"confusions[{source}] must not contain class {source} itself "
                f"(a flip changes the label), got {targets!r}"
            )
        if len(set(checked)) != len(checked):
            raise ValueError(f"confusions[{source}] must list distinct classes, got {targets!r}")
        table[source] = checked
    return table


def object_noise(label_map, num_classes, confusions, fraction=SEGMENTATION["noise_fraction"], seed=None,
                 connectivity=8):
    r"""Object-level label noise: whole connected components relabelled (Section 5.2).

    An object is a connected component of pixels sharing one label (``scipy.ndimage.label``
    on each class mask). Among the :math:`n` components whose class :math:`c` has at least
    one allowed confusion :math:`A_c \neq \emptyset` (every class, with
    :data:`VAIHINGEN_CONFUSIONS`),

    .. math::
        m = \operatorname{round}(\text{fraction} \cdot n)

    are chosen uniformly without replacement, and each chosen component :math:`o` of class
    :math:`c` is relabelled, as a whole, to a class drawn uniformly from :math:`A_c`:

    .. math::
        \tilde{y}(x) = t_o \ \ \forall x \in o, \qquad t_o \sim \mathcal{U}(A_c),
        \qquad \tilde{y}(x) = y(x) \ \text{elsewhere}.

    Components are found on the clean map once, so flips never cascade; a flipped object may
    merge with a neighbour of its new class. The pixel-level flip rate follows from the
    sizes of the chosen objects (one tile's road network is often a single object holding
    a large share of its pixels) and is reported, not controlled. Apply it to each full
    tile before cutting patches, so that an object is not split by patch borders.

    Choices not fixed by the paper: ``fraction`` counts the *eligible* components (those
    of a class with an allowed confusion; the same as all of them with Vaihingen's table,
    as in the paper's "a third of the connected components"); ``round`` is Python's (ties
    to even); objects are 8-connected by default (diagonal neighbours belong to the same
    object, the default of scikit-image's ``label``), so that jagged annotation borders do
    not break an object into single-pixel ones; ``connectivity=4`` gives
    ``scipy.ndimage.label``'s default. Random numbers come from
    ``numpy.random.default_rng(seed)``: first the choice of components, then one target
    per chosen component in component order.

    Parameters
    ----------
    label_map : numpy.ndarray or torch.Tensor of integers, shape (H, W)
        Clean labels in [0, num_classes). Not modified.
    num_classes : int
        K >= 2, the number of classes (6 for Vaihingen). It is given, not inferred from the
        table, so that a class the table leaves out is still a valid label.
    confusions : mapping int -> sequence of int
        Allowed noisy labels of each class: ``{c: (t1, t2, ...)}`` with every index in
        [0, num_classes), no ``t == c``, no repeat. A class absent from the table, or mapped
        to an empty sequence, never flips. For Vaihingen, :data:`VAIHINGEN_CONFUSIONS`.
    fraction : float, optional
        Share of the eligible components flipped, in [0, 1]; the paper's third
        (:data:`watlib.paper.SEGMENTATION` ``["noise_fraction"]``) by default.
    seed : int, numpy.random.Generator or None, optional
        A non-negative int seeds ``numpy.random.default_rng``; a Generator is used (and
        advanced) as given; None draws fresh entropy (not reproducible).
    connectivity : {8, 4}, optional
        Neighbours of a pixel within an object: 8 (default) or 4.

    Returns
    -------
    noisy : numpy.ndarray or torch.Tensor, shape (H, W)
        The type, dtype (and for a tensor, device) of ``label_map``; a new array.
    report : ObjectNoiseReport
        Components per class, numbers eligible and flipped, the flips ``(size, from, to)``,
        the pixel-level flip rate and from -> to count matrices of components and pixels.

    Raises
    ------
    ValueError
        ``fraction`` outside [0, 1]; a class of ``confusions`` outside [0, K) or mapped to
        itself; ``label_map`` not 2-D, empty or with a label outside [0, K);
        ``connectivity`` not 4 or 8.
    TypeError
        ``label_map`` not of an integer dtype; arguments of the wrong type.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2: objects as connected components, plausible errors, a third flipped).
    .. [2] Rottensteiner, F. et al. (2012). The ISPRS benchmark on urban object
       classification and 3D building reconstruction. ISPRS Annals I-3, 293-298 (the
       Vaihingen classes).
    .. [3] Virtanen, P. et al. (2020). SciPy 1.0. Nature Methods 17, 261-272
       (``scipy.ndimage.label``).

    Examples
    --------
    Two cars (4) on a road (0) next to a building (1); with ``fraction=1`` every object
    flips, each car to impervious surface, its only allowed confusion:

    >>> y = np.array([[0, 0, 0, 1],
    ...               [4, 0, 4, 1],
    ...               [0, 0, 0, 1]])
    >>> noisy, report = object_noise(y, 6, VAIHINGEN_CONFUSIONS, fraction=1.0, seed=0)
    >>> report.n_components, report.n_flipped
    (4, 4)
    >>> bool((noisy[y == 4] == 0).all()), report.components_per_class.tolist()
    (True, [1, 1, 0, 0, 2, 0])
    >>> bool((noisy[y == 0] == 1).all()), bool((noisy[y == 1] == 0).all())
    (True, True)

    Half of the four objects: here the two cars, one pixel each, so 2 of the 12 pixels
    change (``flips`` lists ``(size, from, to)``):

    >>> noisy, report = object_noise(y, 6, VAIHINGEN_CONFUSIONS, fraction=0.5, seed=0)
    >>> report.n_flipped, report.flips, round(report.pixel_flip_rate, 4)
    (2, ((1, 4, 0), (1, 4, 0)), 0.1667)
    """
    K = check_int("num_classes", num_classes, ge=2)
    table = _check_confusions(confusions, K)
    fraction = check_real("fraction", fraction, ge=0, le=1)
    if isinstance(connectivity, bool) or connectivity not in _CONNECTIVITY_RANK:
        raise ValueError(
            f"connectivity must be 4 or 8 (neighbours of a pixel in an object), got {connectivity!r}"
        )
    rng = np.random.default_rng() if seed is None else _check_seed(seed)
    arr = check_labels(label_map, "label_map", K)
    if arr.ndim != 2:
        raise ValueError(f"label_map must be 2-D (H, W), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"label_map must hold at least one pixel, got shape {arr.shape}")
    largest_target = max((max(t) for t in table.values() if t), default=0)
    if largest_target > np.iinfo(arr.dtype).max:
        raise ValueError(
            f"label_map of dtype {arr.dtype} cannot hold class {largest_target} of confusions"
        )

    # Number the components of all classes 0..n-1, class by class: component_of[pixel].
    structure = ndimage.generate_binary_structure(2, _CONNECTIVITY_RANK[connectivity])
    component_of = np.empty(arr.shape, dtype=np.int64)
    per_class = np.zeros(K, dtype=np.int64)
    offset = 0
    for k in range(K):
        labelled, n = ndimage.label(arr == k, structure=structure)
        inside = labelled > 0
        component_of[inside] = labelled[inside] + (offset - 1)
        per_class[k] = n
        offset += n
    clean_class = np.repeat(np.arange(K), per_class)
    sizes = np.bincount(component_of.reshape(-1), minlength=offset)

    has_target = np.array([bool(table.get(k)) for k in range(K)])
    eligible = np.flatnonzero(has_target[clean_class])
    n_flip = round(fraction * eligible.size)
    chosen = np.sort(rng.choice(eligible, size=n_flip, replace=False)) if n_flip else eligible[:0]
    noisy_class = clean_class.copy()
    for c in chosen:
        targets = table[int(clean_class[c])]
        noisy_class[c] = targets[rng.integers(len(targets))]

    noisy = noisy_class[component_of].astype(arr.dtype, copy=False)
    pairs = clean_class * K + noisy_class
    pixel_counts = np.zeros(K * K, dtype=np.int64)
    np.add.at(pixel_counts, pairs, sizes)
    report = ObjectNoiseReport(
        num_classes=K,
        connectivity=int(connectivity),
        components_per_class=per_class,
        n_components=int(offset),
        n_eligible=int(eligible.size),
        n_flipped=int(n_flip),
        flips=tuple((int(sizes[c]), int(clean_class[c]), int(noisy_class[c])) for c in chosen),
        pixel_flip_rate=float(sizes[chosen].sum() / arr.size),
        component_counts=np.bincount(pairs, minlength=K * K).reshape(K, K),
        pixel_counts=pixel_counts.reshape(K, K),
    )
    if isinstance(label_map, torch.Tensor):
        noisy = torch.from_numpy(noisy).to(device=label_map.device, dtype=label_map.dtype)
    return noisy, report
