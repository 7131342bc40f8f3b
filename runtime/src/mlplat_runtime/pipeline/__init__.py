"""A project's pipeline, run: in this process (``runner``) or on Argo Workflows (``argo``).

The project declares its stages, artefacts and config (``graph.Pipeline``); ``cli.main`` is its
``python -m <package>.pipeline``. Only ``argo``, ``argo_monitor`` and ``argo_server`` import Hera.
"""
