"""companion: talk with a portrait — offline voice loop + real-time talking-face engine."""

__version__ = "0.1.0"
__all__ = ["__version__"]
