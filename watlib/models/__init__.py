"""Networks used by watlib: the toy's MLP (a later issue adds CNN9 and UNet here)."""

from .mlp import MLP

__all__ = ["MLP"]
