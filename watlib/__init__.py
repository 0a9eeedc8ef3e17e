"""watlib: Wasserstein Adversarial Training (WAT) for learning with noisy labels."""

__version__ = "0.1.0"
