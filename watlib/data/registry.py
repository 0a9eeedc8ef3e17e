r"""What watlib knows about each data set of the paper, in one place, without reading a file.

One frozen :class:`DatasetInfo` per data set holds its class names in label order (so
:math:`K`), its input channels, its image size where it is fixed, its training schedule and,
for CIFAR-100, the superclass of every class:

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

from .._checks import check_choice
from ..paper import SCHEDULES, SEGMENTATION, Schedule

__all__ = ["DatasetInfo", "DATASET_NAMES", "CLASSIFICATION_DATASETS", "DATASET_INFO", "CIFAR100_SUPERCLASSES", "dataset_info"]


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
    torchvision_class : str or None
        Name of the class of ``torchvision.datasets`` that reads the files; None if none.
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
    torchvision_class: str | None = None
    superclasses: Mapping | None = dataclasses.field(default=None, compare=False)

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

#: Every data set's :class:`DatasetInfo` (read-only mapping), keyed by name.
DATASET_INFO = types.MappingProxyType({
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", "classification", _FASHION_MNIST, 1, (28, 28), SCHEDULES["fashion_mnist"],
        torchvision_class="FashionMNIST",
    ),
    "cifar10": DatasetInfo(
        "cifar10", "classification", _CIFAR10, 3, (32, 32), SCHEDULES["cifar10"], torchvision_class="CIFAR10",
    ),
    "cifar100": DatasetInfo(
        "cifar100", "classification", _CIFAR100, 3, (32, 32), SCHEDULES["cifar100"],
        torchvision_class="CIFAR100", superclasses=CIFAR100_SUPERCLASSES,
    ),
    # IRRG + DSM + nDSM (Section 5.2); the tiles are about 2000 x 2500 pixels, each its own size
    "vaihingen": DatasetInfo(
        "vaihingen", "segmentation", _VAIHINGEN, 5, None,
        Schedule(SEGMENTATION["epochs"], tuple(SEGMENTATION["milestones"])),
    ),
})

#: The names :func:`dataset_info` knows, in the paper's order.
DATASET_NAMES = tuple(DATASET_INFO)
#: The classification data sets (Table 2's), in the registry's order: the one list of them.
CLASSIFICATION_DATASETS = tuple(name for name, info in DATASET_INFO.items() if info.task == "classification")


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
    return DATASET_INFO[check_choice("name", name, DATASET_NAMES)]
