"""truceline: the information system of a ceasefire monitoring and verification mechanism."""

__version__ = "0.1.0"
__all__ = ["__version__"]
