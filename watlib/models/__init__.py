"""Networks used by watlib: the toy's MLP, the paper's CNN (Table 1) and the U-Net (Section 5.2)."""

from .cnn import CNN9, TABLE1_CHANNELS, count_parameters
from .mlp import MLP
from .unet import UNET_BASE_CHANNELS, UNet

__all__ = ["MLP", "CNN9", "TABLE1_CHANNELS", "count_parameters", "UNet", "UNET_BASE_CHANNELS"]
