"""Networks used by watlib: the toy's MLP and the paper's CNN (Table 1)."""

from .cnn import CNN9, TABLE1_CHANNELS, count_parameters
from .mlp import MLP

__all__ = ["MLP", "CNN9", "TABLE1_CHANNELS", "count_parameters"]
