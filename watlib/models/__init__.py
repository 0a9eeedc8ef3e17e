"""Networks used by watlib: the toy's MLP, the paper's CNN (Table 1) and the U-Net (Section 5.2)."""

from .cnn import CNN9, TABLE1_CHANNELS, count_parameters
from .mlp import MLP
from .unet import UNET_BASE_CHANNELS, UNET_MAX_DEPTH, UNET_MAX_PARAMETERS, UNet, unet_parameter_count

__all__ = ["MLP", "CNN9", "TABLE1_CHANNELS", "count_parameters", "UNet", "UNET_BASE_CHANNELS", "UNET_MAX_DEPTH",
           "UNET_MAX_PARAMETERS", "unet_parameter_count"]
