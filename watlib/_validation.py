"""Argument checks shared by several modules (private)."""

import numpy as np


def check_int(value, name, minimum):
    """``value`` as an int >= ``minimum``, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
