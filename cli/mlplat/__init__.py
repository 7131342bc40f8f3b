"""mlplat: ML projects with MLOps practices on day one, and the platform they run on."""

__version__ = "0.6.0"

__all__ = ["__version__"]
