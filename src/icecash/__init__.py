"""IceCash: an open-source point-of-sale suite for Russian shops and small chains."""

__version__ = "0.1.0"
