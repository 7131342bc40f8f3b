"""Entry point of the ``mlplat`` console script and ``python -m mlplat``."""

from mlplat._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
