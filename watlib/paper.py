r"""The paper's numbers, defined once: hyperparameters, schedules and published tables.

Everything here is quoted from Damodaran et al., *Wasserstein Adversarial Training for
Label Noise* (Sections 3 to 5, Algorithm 1, Tables 2 and 3). Every default elsewhere in
``watlib`` that comes from the paper refers to a name of this module, so a reader can
check the paper's settings in one place and a change of them is one edit.

=====================  ====================================================================
name                   value (the paper's symbol)
=====================  ====================================================================
:data:`REG`            0.05, the entropic regularization :math:`\lambda` of WAT (Eq. 5)
:data:`EPS`            0.005, the radius :math:`\varepsilon` of the perturbation (Alg. 1)
:data:`XI`             1e-6, the finite-difference step :math:`\xi` (Alg. 1)
:data:`N_POWER`        1, the power iterations :math:`k_{\max}` (Alg. 1)
:data:`BETA`           weight :math:`\beta` of the regularizer: 5 for VAT (the authors'
                       tuning of Miyato et al.'s method), 10 for WAT (Eq. 7)
:data:`WARMUP`         15 epochs with :math:`\beta = 0` before the regularizer starts
:data:`LR`             1e-3, Adam's learning rate, betas :data:`ADAM_BETAS` (0.9, 0.999)
:data:`BATCH_SIZE`     256
:data:`LR_DECAY`       0.1, the factor of the learning rate at each milestone
:data:`SCHEDULES`      epochs and milestones per data set (Section 5.1)
:data:`SEGMENTATION`   Section 5.2: Adam 1e-4, 1e-5 after 10 epochs, 300 epochs, 200-pixel
                       overlap at prediction, a third of the objects relabelled
:data:`TOY_COST`       Figure 2's ground cost (5 between red and orange, 1 to black)
:data:`TOY_REGS`       Figure 2's :math:`\lambda` values, 0.1 and 0.05
:data:`TABLE2`         Table 2: test accuracy (%), mean and std over the last 10 epochs of
                       3 runs, per data set, noise rate and method
:data:`TABLE3`         Table 3: Vaihingen per-class F1, average F1 and overall accuracy (%)
=====================  ====================================================================

The solver settings of the Sinkhorn iterations (``max_iter``, ``tol``) are not the paper's
(its released code runs a fixed 20 iterations, see :mod:`watlib.ot`); nor are the baselines'
own settings (bootstrapping's 0.95, Co-teaching's ramp, D2L's window), which come from their
papers and live with the methods in :mod:`watlib.methods`.

References
----------
.. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
   Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936.

Examples
--------
>>> SCHEDULES["cifar10"]
Schedule(epochs=120, milestones=(40, 80))
>>> BETA["watc"], BETA["vat"], REG, EPS
(10.0, 5.0, 0.05, 0.005)
>>> TABLE2["fashion_mnist"][0.4]["watc"]
(90.41, 0.02)
"""

from __future__ import annotations

import types
from typing import NamedTuple

__all__ = [
    "REG", "EPS", "XI", "N_POWER", "BETA", "WARMUP", "LR", "ADAM_BETAS", "BATCH_SIZE", "LR_DECAY",
    "Schedule", "SCHEDULES", "SEGMENTATION", "TOY_COST", "TOY_REGS", "TABLE2_METHODS", "TABLE2",
    "TABLE3_METHODS", "TABLE3_ROWS", "TABLE3",
]

# ------------------------------------------------------------------ the regularizers (Alg. 1, Eq. 7)
#: Entropic regularization :math:`\lambda` of the OT loss (Eq. 5).
REG = 0.05
#: Radius :math:`\varepsilon` of the adversarial perturbation.
EPS = 0.005
#: Finite-difference step :math:`\xi` of the direction search.
XI = 1e-6
#: Power iterations :math:`k_{\max}` of the direction search.
N_POWER = 1
#: Weight :math:`\beta` of the regularizer in Eq. 7, per method of Table 2 that has one.
BETA = types.MappingProxyType({"vat": 5.0, "wat01": 10.0, "watc": 10.0})
#: Epochs trained with :math:`\beta = 0` before the regularizer is switched on.
WARMUP = 15

# ------------------------------------------------------------------ optimisation (Section 5.1)
#: Adam's learning rate.
LR = 1e-3
#: Adam's betas.
ADAM_BETAS = (0.9, 0.999)
#: Minibatch size.
BATCH_SIZE = 256
#: The learning rate is multiplied by this at each milestone.
LR_DECAY = 0.1


class Schedule(NamedTuple):
    """Epochs of a run and the epochs after which the learning rate is divided by 10.

    Examples
    --------
    >>> epochs, milestones = SCHEDULES["fashion_mnist"]
    >>> epochs, milestones
    (60, (20, 40))
    """

    epochs: int
    milestones: tuple


#: Section 5.1: 60 epochs on Fashion-MNIST, 120 on CIFAR-10, 150 on CIFAR-100.
SCHEDULES = types.MappingProxyType({
    "fashion_mnist": Schedule(60, (20, 40)),
    "cifar10": Schedule(120, (40, 80)),
    "cifar100": Schedule(150, (80, 120)),
})

#: Section 5.2 (Vaihingen), where the paper is explicit.
SEGMENTATION = types.MappingProxyType({
    "lr": 1e-4, "milestones": (10,), "epochs": 300, "predict_overlap": 200, "noise_fraction": 1 / 3,
})

# ------------------------------------------------------------------ the toy (Figure 2)
#: Ground cost between the toy's classes (red, orange, black): similar classes cost most.
TOY_COST = ((0.0, 5.0, 1.0), (5.0, 0.0, 1.0), (1.0, 1.0, 0.0))
#: The two values of :math:`\lambda` of Figure 2.
TOY_REGS = (0.1, 0.05)

# ------------------------------------------------------------------ Table 2
#: The methods of Table 2, in its column order.
TABLE2_METHODS = ("cce", "backward", "forward", "unhinged", "bootsoft", "coteaching", "d2l", "vat", "wat01", "watc")

# dataset, noise, then (mean, std) per method in TABLE2_METHODS' order, as printed
_T2 = """
fashion_mnist 0.0 94.69 0.11 94.86 0.04 94.81 0.04 95.12 0.03 94.79 0.02 94.28 0.04 94.47 0.02 94.81 0.09 94.60 0.03 94.70 0.02
fashion_mnist 0.2 89.02 0.47 88.84 0.10 91.03 0.12 90.04 0.08 88.17 0.11 91.24 0.06 89.12 0.15 93.10 0.14 90.99 0.07 93.37 0.08
fashion_mnist 0.4 78.85 0.56 81.74 0.08 82.85 0.2 78.32 0.15 73.84 0.28 86.83 0.10 78.98 0.25 89.74 0.10 86.03 0.20 90.41 0.02
cifar10 0.0 91.76 0.04 91.63 0.04 91.59 0.03 92.27 0.04 91.67 0.03 90.12 0.04 91.29 0.02 91.49 0.07 90.94 0.12 91.88 0.31
cifar10 0.2 85.26 0.09 84.67 0.1 85.70 0.08 87.09 0.05 85.35 0.8 86.19 0.07 86.64 0.12 88.91 0.09 86.12 0.21 89.12 0.48
cifar10 0.4 76.23 0.15 73.49 0.14 75.10 0.15 77.94 0.1 74.32 0.2 80.87 0.09 73.12 0.43 81.98 0.25 74.15 0.34 84.55 0.78
cifar100 0.0 68.60 0.09 69.53 0.07 70.12 0.07 70.54 0.06 69.81 0.04 65.42 0.06 70.93 0.02 67.83 0.10 65.78 0.15 68.16 0.18
cifar100 0.2 58.81 0.10 59.23 0.08 59.54 0.05 61.06 0.06 58.97 0.08 56.55 0.08 60.90 0.03 65.44 0.11 60.56 0.14 62.72 0.16
cifar100 0.4 42.45 0.12 43.02 0.09 42.17 0.1 42.87 0.07 41.73 0.08 42.73 0.08 42.61 0.04 55.75 0.14 51.00 0.31 58.86 0.21
"""


def _table2():
    table = {}
    for line in _T2.strip().splitlines():
        dataset, noise, *values = line.split()
        cells = {m: (float(values[2 * i]), float(values[2 * i + 1])) for i, m in enumerate(TABLE2_METHODS)}
        table.setdefault(dataset, {})[float(noise)] = types.MappingProxyType(cells)
    return types.MappingProxyType({d: types.MappingProxyType(rows) for d, rows in table.items()})


#: ``TABLE2[dataset][noise][method] = (mean, std)``, test accuracy in %.
TABLE2 = _table2()

# ------------------------------------------------------------------ Table 3
#: Table 3's columns: CCE on the clean labels, CCE, soft bootstrapping and WAT on the noisy ones.
TABLE3_METHODS = ("cce_clean", "cce", "bootsoft", "wat")
#: Table 3's rows, in its order: the five classes it reports (clutter is not), then the summaries.
TABLE3_ROWS = ("building", "car", "impervious surfaces", "low vegetation", "tree", "average F1", "overall accuracy")
_T3 = (
    (90.29, 75.06, 88.34, 89.04),
    (58.91, 14.21, 10.98, 25.78),
    (85.76, 62.20, 82.66, 79.01),
    (76.32, 25.92, 61.40, 71.56),
    (84.72, 70.89, 80.49, 82.92),
    (79.20, 49.65, 64.77, 69.66),
    (83.89, 63.95, 78.87, 78.43),
)
#: ``TABLE3[row][method]``, in %, means of 2 runs as printed.
TABLE3 = types.MappingProxyType({
    row: types.MappingProxyType(dict(zip(TABLE3_METHODS, values))) for row, values in zip(TABLE3_ROWS, _T3)
})
