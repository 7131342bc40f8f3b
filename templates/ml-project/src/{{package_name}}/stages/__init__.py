"""The pipeline's stages, one module each; ``pipeline.py`` wires them into one definition."""

__all__: list[str] = []
