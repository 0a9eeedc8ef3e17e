r"""What watlib knows about each data set, in one place, without reading a file.

One frozen :class:`DatasetInfo` per data set holds its class names in label order (so
:math:`K`), its input channels, its image size where it is fixed, its training schedule, its
label in figures, its asymmetric noise (the flips of each variant, by class name), D2L's wait
before its turning-point test, the reader of its files and, for CIFAR-100, the superclass of
every class. The configurations, the noise model, the loaders and the figures read these facts
here, so that a new classification data set is its entry (:func:`register_dataset`) and its
reader, and nothing else:

==================  =====  ====  ===========  ==============
name                K      C     H x W        task
==================  =====  ====  ===========  ==============
``fashion_mnist``   10     1     28 x 28      classification
``cifar10``         10     3     32 x 32      classification
``cifar100``        100    3     32 x 32      classification
``vaihingen``       6      5     tiles vary   segmentation
==================  =====  ====  ===========  ==============

The schedules (epochs, and the epochs after which the learning rate is divided by 10) are
the paper's: ``paper.SCHEDULES[name]`` (:data:`watlib.paper.SCHEDULES`) for the three
classification data sets, :data:`watlib.paper.SEGMENTATION` for Vaihingen.

The label orders are those of torchvision's datasets (``FashionMNIST.classes``; the
``label_names`` of CIFAR-10's ``batches.meta``; the 100 ``fine_label_names`` of CIFAR-100's
``meta``, which are alphabetical) and, for Vaihingen, the ISPRS order of the 2-D semantic
labelling benchmark. The schedules are the paper's numbers of :mod:`watlib.paper`, referred to,
not copied. Every other module reads these facts here (:func:`watlib.costs.class_names`,
:mod:`watlib.noise`, the readers of :mod:`watlib.data`); this module imports nothing heavier
than :mod:`watlib.paper` and reads no file.

References
----------
.. [1] Xiao, H., Rasul, K., Vollgraf, R. (2017). Fashion-MNIST: a Novel Image Dataset for
   Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
.. [2] Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
   Technical report, University of Toronto (Appendix D: CIFAR-100's superclasses).
.. [3] ISPRS 2-D Semantic Labeling Contest, Vaihingen.
   https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx
.. [4] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N. (2019).
   Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936 (Sections 5.1, 5.2).

Examples
--------
>>> info = dataset_info("cifar10")
>>> info.num_classes, info.in_channels, info.image_size, info.schedule.epochs
(10, 3, (32, 32), 120)
>>> dataset_info("vaihingen").classes
('impervious surfaces', 'building', 'low vegetation', 'tree', 'car', 'clutter')
>>> DATASET_NAMES
('fashion_mnist', 'cifar10', 'cifar100', 'vaihingen')
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping

from collections.abc import Callable

from .._checks import check_choice
from .._registry import Registry
from ..paper import SCHEDULES, SEGMENTATION, Schedule

__all__ = ["DatasetInfo", "DATASET_NAMES", "CLASSIFICATION_DATASETS", "NOISE_DATASETS", "DATASET_INFO",
           "DATASET_LABELS", "CIFAR100_SUPERCLASSES", "dataset_info", "register_dataset", "unregister_dataset"]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    r"""The fixed facts of one data set: classes, input shape, schedule.

    The class of label :math:`k` is ``classes[k]``, :math:`k = 0, \dots, K - 1`; an input is
    a tensor of shape ``(in_channels, H, W)``, with ``(H, W) = image_size`` where the data set
    fixes it.

    Parameters
    ----------
    name : str
        The name :func:`dataset_info` and :func:`~watlib.data.classification.load_dataset` take.
    task : {"classification", "segmentation"}
        One label per image, or one per pixel.
    classes : tuple of str, length K
        Class names in label order.
    in_channels : int
        Channels C of an input image.
    image_size : tuple of int or None
        (H, W) of every image; None where the images differ in size (Vaihingen's tiles).
    schedule : watlib.paper.Schedule
        Epochs and the epochs after which the learning rate is divided by 10 (Section 5).
    label : str, optional
        Its name in figures and prose ("Fashion-MNIST"); ``name`` by default.
    noise : mapping of str to tuple, optional
        The asymmetric label noise of :func:`watlib.noise.transition_matrix`: variant name to
        its flips, ``(source, target, share)`` triples of class names (a sample of ``source``
        becomes ``target`` with probability ``share * p``; the shares of one source sum to 1).
        The first variant is the default. Empty: no class-conditional noise is defined.
    d2l_init_epoch : int
        D2L's wait before its turning-point test (``watlib.methods.D2L``): Ma et al.'s
        ``init_epoch``; 0 by default.
    sizes : tuple of int, optional
        (training images, test images) of the full splits, against which a configuration's
        subset sizes are checked when it is built; None where unknown.
    torchvision_class : str or None
        Name of the class of ``torchvision.datasets`` that reads the files; None if none.
    loader : callable, optional
        ``loader(root, train) -> (x, y)`` for a classification data set that torchvision does not
        read: float32 inputs (N, C, H, W), already scaled, and int64 labels (N,) in [0, K), of
        the training or the test split, from the folder ``root`` (None: the loader's own
        default). :func:`watlib.data.load_dataset <watlib.data.classification.load_dataset>`
        calls it and checks what it returns. None for the paper's data sets, read through
        ``torchvision_class``.
    superclasses : mapping of str to tuple of str, optional
        Superclass name to its classes, in coarse-label order (CIFAR-100 only; else None).

    Attributes
    ----------
    num_classes : int
        K, the length of ``classes``.

    Examples
    --------
    >>> info = dataset_info("fashion_mnist")
    >>> info.classes[3], info.num_classes, info.schedule.milestones
    ('Dress', 10, (20, 40))
    """

    name: str
    task: str
    classes: tuple
    in_channels: int
    image_size: tuple | None
    schedule: Schedule
    label: str | None = None
    noise: Mapping = dataclasses.field(default_factory=dict, compare=False)
    d2l_init_epoch: int = 0
    sizes: tuple | None = None
    torchvision_class: str | None = None
    loader: Callable | None = dataclasses.field(default=None, compare=False)
    superclasses: Mapping | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self):
        check_choice("task", self.task, ("classification", "segmentation"))
        if not self.classes or not all(isinstance(c, str) for c in self.classes) or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be a non-empty tuple of distinct str, got {self.classes!r}")
        object.__setattr__(self, "classes", tuple(self.classes))
        if self.label is None:
            object.__setattr__(self, "label", self.name)
        for variant, flips in self.noise.items():
            shares: dict = {}
            for flip in flips:
                source, target, share = flip
                for cls in (source, target):
                    if cls not in self.classes:
                        raise ValueError(f"noise[{variant!r}] flips {flip!r}: {cls!r} is not one of the classes {self.classes}")
                shares[source] = shares.get(source, 0.0) + share
            off = {k: v for k, v in shares.items() if abs(v - 1.0) > 1e-12}
            if off:
                raise ValueError(f"noise[{variant!r}]: the shares of each source class must sum to 1, got {off}")
        object.__setattr__(self, "noise", types.MappingProxyType({k: tuple(v) for k, v in self.noise.items()}))
        if self.loader is not None and self.task != "classification":
            raise ValueError(f"loader applies to classification data sets only, got one for the {self.task} {self.name!r}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# CIFAR-100's 20 superclasses and their five classes each: the table of Krizhevsky (2009),
# Appendix D, with torchvision's spelling of the names (the meta file's coarse_label_names
# and fine_label_names). Coarse label s is the s-th name in alphabetical order, as in the
# meta file.
_CIFAR100_SUPERCLASSES = {
    "aquatic_mammals": ("beaver", "dolphin", "otter", "seal", "whale"),
    "fish": ("aquarium_fish", "flatfish", "ray", "shark", "trout"),
    "flowers": ("orchid", "poppy", "rose", "sunflower", "tulip"),
    "food_containers": ("bottle", "bowl", "can", "cup", "plate"),
    "fruit_and_vegetables": ("apple", "mushroom", "orange", "pear", "sweet_pepper"),
    "household_electrical_devices": ("clock", "keyboard", "lamp", "telephone", "television"),
    "household_furniture": ("bed", "chair", "couch", "table", "wardrobe"),
    "insects": ("bee", "beetle", "butterfly", "caterpillar", "cockroach"),
    "large_carnivores": ("bear", "leopard", "lion", "tiger", "wolf"),
    "large_man-made_outdoor_things": ("bridge", "castle", "house", "road", "skyscraper"),
    "large_natural_outdoor_scenes": ("cloud", "forest", "mountain", "plain", "sea"),
    "large_omnivores_and_herbivores": ("camel", "cattle", "chimpanzee", "elephant", "kangaroo"),
    "medium_mammals": ("fox", "porcupine", "possum", "raccoon", "skunk"),
    "non-insect_invertebrates": ("crab", "lobster", "snail", "spider", "worm"),
    "people": ("baby", "boy", "girl", "man", "woman"),
    "reptiles": ("crocodile", "dinosaur", "lizard", "snake", "turtle"),
    "small_mammals": ("hamster", "mouse", "rabbit", "shrew", "squirrel"),
    "trees": ("maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"),
    "vehicles_1": ("bicycle", "bus", "motorcycle", "pickup_truck", "train"),
    "vehicles_2": ("lawn_mower", "rocket", "streetcar", "tank", "tractor"),
}

#: CIFAR-100's superclasses (read-only): name -> its five classes, in coarse-label order.
CIFAR100_SUPERCLASSES = types.MappingProxyType(
    {name: _CIFAR100_SUPERCLASSES[name] for name in sorted(_CIFAR100_SUPERCLASSES)}
)

_FASHION_MNIST = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR100 = (  # the fine_label_names of the meta file: alphabetical
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
    "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel",
    "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
    "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster",
    "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse",
    "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
    "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
    "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose",
    "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table",
    "tank", "telephone", "television", "tiger", "tractor", "train", "trout",
    "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)
_VAIHINGEN = ("impervious surfaces", "building", "low vegetation", "tree", "car", "clutter")

# Asymmetric noise as (source, target, share) by class name: a sample of class `source`
# becomes `target` with probability share * p. The shares of one source sum to 1, so every
# source class keeps its label with probability exactly 1 - p.
_FASHION_MNIST_NOISE = {
    # Section 5.1 of the paper. Shirt has two targets in the paper's text; p is split evenly
    # between them, as the authors' code does for its multi-target classes (AID, DFC2018).
    "paper": (("Dress", "T-shirt/top", 1.0), ("Coat", "Shirt", 1.0), ("Shirt", "Coat", 0.5),
              ("Shirt", "Pullover", 0.5), ("Sandal", "Sneaker", 1.0), ("Ankle boot", "Sneaker", 1.0)),
    # The matrix of noisify_fashionmnist_asymmetric in bbdamodaran/WAR (simulate_noisylabel.py).
    "released": (("Ankle boot", "Trouser", 1.0), ("Sandal", "Sneaker", 1.0), ("Pullover", "Shirt", 1.0),
                 ("Coat", "Shirt", 1.0), ("Shirt", "Coat", 1.0), ("Dress", "T-shirt/top", 1.0)),
}
# Patrini et al. (2017), the CIFAR-10 experiments.
_CIFAR10_NOISE = {"pairs": (("truck", "automobile", 1.0), ("bird", "airplane", 1.0), ("deer", "horse", 1.0),
                            ("cat", "dog", 1.0), ("dog", "cat", 1.0))}


def _cycles(groups):
    """Each class of a group becomes the next of its group, the last the first."""
    return tuple((a, b, 1.0) for g in groups for a, b in zip(g, g[1:] + g[:1]))


# CIFAR-100: Patrini et al.'s blocks of five consecutive labels, or the fine labels of each real
# superclass in ascending label order (alphabetical = label order).
_CIFAR100_NOISE = {
    "blocks": _cycles([_CIFAR100[start:start + 5] for start in range(0, 100, 5)]),
    "superclass": _cycles([tuple(sorted(members)) for members in CIFAR100_SUPERCLASSES.values()]),
}

_REGISTRY = Registry("dataset")


def register_dataset(info: DatasetInfo, *, replace: bool = False) -> DatasetInfo:
    """Add a data set to the registry, under ``info.name``.

    Its name then passes the configurations' checks and is a choice of the command line;
    :func:`watlib.data.load_dataset <watlib.data.classification.load_dataset>` reads it with
    ``info.loader``, :func:`watlib.noise.transition_matrix` flips its labels along
    ``info.noise``.

    Parameters
    ----------
    info : DatasetInfo
        A classification data set needs a ``loader`` (or a ``torchvision_class`` that
        watlib.data.classification reads) and, to be trained with label noise, ``noise``.
    replace : bool
        Replace a data set of the same name (else that is a ValueError).

    Returns
    -------
    DatasetInfo
        ``info``.

    Examples
    --------
    >>> tiny = DatasetInfo("tiny", "classification", ("a", "b"), 1, (4, 4), Schedule(2, (1,)),
    ...                    noise={"swap": (("a", "b", 1.0), ("b", "a", 1.0))}, loader=lambda root, train: None)
    >>> _ = register_dataset(tiny)
    >>> "tiny" in CLASSIFICATION_DATASETS, dataset_info("tiny").num_classes
    (True, 2)
    >>> unregister_dataset("tiny").name, "tiny" in DATASET_NAMES
    ('tiny', False)
    """
    if not isinstance(info, DatasetInfo):
        raise TypeError(f"info must be a DatasetInfo, got {type(info).__name__}")
    if info.task == "classification" and info.loader is None and info.torchvision_class is None:
        raise ValueError(f"the classification data set {info.name!r} needs a loader (or a torchvision_class)")
    _REGISTRY.register(info.name, info, replace=replace)
    return info


def unregister_dataset(name: str) -> DatasetInfo:
    """Remove a data set from the registry and return its entry (see :func:`register_dataset`).

    Examples
    --------
    >>> unregister_dataset("mnist")
    Traceback (most recent call last):
    ...
    ValueError: dataset must be one of ('fashion_mnist', 'cifar10', 'cifar100', 'vaihingen'), got 'mnist'
    """
    return _REGISTRY.unregister(name)


# D2L's init_epoch per data set (Ma et al. 2018, their released code train_models.py): the
# turning point is only tested once more than init_epoch + window LID values exist. Ma et al.
# give 5 for MNIST, 40 for CIFAR-10 and 60 for CIFAR-100; they ran no Fashion-MNIST, which gets
# MNIST's 5 (same image size and channels, and MNIST's 50 epochs are the cpu preset's): at that
# preset the test starts at epoch 11 of 50.
for _info in (
    DatasetInfo("fashion_mnist", "classification", _FASHION_MNIST, 1, (28, 28), SCHEDULES["fashion_mnist"],
                label="Fashion-MNIST", noise=_FASHION_MNIST_NOISE, d2l_init_epoch=5, sizes=(60000, 10000),
                torchvision_class="FashionMNIST"),
    DatasetInfo("cifar10", "classification", _CIFAR10, 3, (32, 32), SCHEDULES["cifar10"], label="CIFAR-10",
                noise=_CIFAR10_NOISE, d2l_init_epoch=40, sizes=(50000, 10000), torchvision_class="CIFAR10"),
    DatasetInfo("cifar100", "classification", _CIFAR100, 3, (32, 32), SCHEDULES["cifar100"], label="CIFAR-100",
                noise=_CIFAR100_NOISE, d2l_init_epoch=60, sizes=(50000, 10000), torchvision_class="CIFAR100",
                superclasses=CIFAR100_SUPERCLASSES),
    # IRRG + DSM + nDSM (Section 5.2); the tiles are about 2000 x 2500 pixels, each its own size. Its
    # noise is object-level (watlib.noise.object_noise), not a transition matrix.
    DatasetInfo("vaihingen", "segmentation", _VAIHINGEN, 5, None,
                Schedule(SEGMENTATION["epochs"], tuple(SEGMENTATION["milestones"])), label="Vaihingen"),
):
    register_dataset(_info)
del _info

#: Every data set's :class:`DatasetInfo`, keyed by name (a read-only live mapping: it holds the
#: data sets registered later too).
DATASET_INFO = _REGISTRY
#: The names :func:`dataset_info` knows: the paper's, in its order, then those registered later (live).
DATASET_NAMES = _REGISTRY.names()
#: The classification data sets, in the registry's order: the one list of them (live).
CLASSIFICATION_DATASETS = _REGISTRY.names(lambda info: info.task == "classification")
#: The data sets with a class-conditional noise model (``DatasetInfo.noise``), live.
NOISE_DATASETS = _REGISTRY.names(lambda info: bool(info.noise))
#: Each data set's label in figures and prose (live).
DATASET_LABELS = _REGISTRY.attribute("label")


def dataset_info(name: str) -> DatasetInfo:
    r"""The :class:`DatasetInfo` of a data set of the paper.

    .. math::
        \mathrm{dataset\_info}(\mathrm{name}).\mathrm{classes}[k] = \text{name of label } k,
        \qquad k = 0, \dots, K - 1.

    Parameters
    ----------
    name : str
        One of :data:`DATASET_NAMES`: ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"``,
        ``"vaihingen"``.

    Returns
    -------
    info : DatasetInfo
        Frozen; the same object on every call.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        When ``name`` is not a str.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936.

    Examples
    --------
    >>> dataset_info("cifar100").superclasses["people"]
    ('baby', 'boy', 'girl', 'man', 'woman')
    >>> dataset_info("mnist")
    Traceback (most recent call last):
    ...
    ValueError: name must be one of ('fashion_mnist', 'cifar10', 'cifar100', 'vaihingen'), got 'mnist'
    """
    check_choice("name", name, DATASET_NAMES)
    return _REGISTRY[name]
