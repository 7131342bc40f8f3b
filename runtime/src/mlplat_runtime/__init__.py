"""mlplat's model runtime: what every generated project imports instead of carrying it.

The serving transport and process model (``serving``), the compile step with its converters and
parity gate (``compiled``), the data contract's rules and the engine behind ``make contract``
(``rules``, ``profile``, ``infer``, ``contract_init``). Released in lockstep with mlplat: the
template of mlplat X.Y.Z depends on ``mlplat-runtime==X.Y.Z``.
"""

__version__ = "0.6.0"
