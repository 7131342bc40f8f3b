"""skl2onnx converters for the steps whose stock conversion is missing or not exact.

- ``SelectFeatures``, ``Log1pColumns`` and ``FillMissing`` (``features.py``): the template's own
  numpy steps.
- ``HistGradientBoostingClassifier``/``Regressor``: skl2onnx 1.20's converter builds float32
  ``TreeEnsembleRegressor`` nodes (and fails on current protobuf); this one emits the
  ``ai.onnx.ml`` opset 5 ``TreeEnsemble`` with float64 thresholds and leaves, so every row takes
  the branch scikit-learn takes (``x <= threshold``, NaN to the side learned for missing values).

Checked against scikit-learn 1.9's ``_hist_gradient_boosting/predictor.py`` (``nodes`` record
layout, ``_raw_predict`` adding ``_baseline_prediction``) and ``_loss/loss.py`` (binary: expit,
multiclass: softmax), and the ONNX ``ai.onnx.ml.TreeEnsemble`` (opset 5) operator spec.
"""

from __future__ import annotations

__all__ = ["fold_transform_into_trees", "register"]

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .errors import NotConvertible
from .transforms import FillMissing, Log1pColumns, SelectFeatures

_SIGN = np.uint64(1 << 63)


def _ordered(x: np.ndarray) -> np.ndarray:
    """float64 -> uint64 keys in the same order (so bisection can walk every double)."""
    bits = x.astype(np.float64).view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _unordered(key: np.ndarray) -> np.ndarray:
    return np.where(key & _SIGN, key & ~_SIGN, ~key).view(np.float64)


def _raw_thresholds(
    f: Any, thresholds: np.ndarray, low: float, high: float = float(np.finfo(np.float64).max)
) -> np.ndarray:
    """For each t, the largest raw double x in [low, high] with f(x) <= t (f non-decreasing).

    Then ``f(x) <= t`` exactly when ``x <= r`` for every raw x in range: the split compares the
    raw input and gives the branch scikit-learn gives, bit for bit, whatever f rounds to.
    """
    lo = np.full(thresholds.shape, _ordered(np.asarray([low]))[0])
    hi = np.full(thresholds.shape, _ordered(np.asarray([high]))[0])
    none = ~(f(_unordered(lo)) <= thresholds)  # even the lowest input goes right
    every = f(_unordered(hi)) <= thresholds  # even the highest input goes left
    one = np.uint64(1)
    while True:
        open_ = (hi - lo) > one
        if not open_.any():
            break
        mid = lo + (hi - lo) // np.uint64(2)
        left = f(_unordered(mid)) <= thresholds
        lo = np.where(open_ & left, mid, lo)
        hi = np.where(open_ & ~left, mid, hi)
    raw = _unordered(lo)
    return np.where(none, -np.inf, np.where(every, np.inf, raw))


class RawGuard(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn: no stubs
    """Inputs below ``lower`` become NaN: what the folded transform would have made of them.

    ``log1p`` of a value below -1 is NaN, which a tree sends down its missing-value branch; with
    the transform folded into the splits, the raw value must take that branch too.
    """

    def __init__(self, lower: Sequence[float] = ()) -> None:
        self.lower = lower

    def fit(self, X: Any, y: Any = None) -> RawGuard:
        """Nothing to learn."""
        return self

    def transform(self, X: Any) -> np.ndarray:
        """NaN where a value is below its column's bound."""
        out = np.array(X, dtype=np.float64, copy=True)
        out[out < np.asarray(self.lower, dtype=np.float64)] = np.nan
        return out


_FOLDABLE = (SelectFeatures, Log1pColumns, StandardScaler)


def _steps(transform: Any) -> list[Any] | None:
    """The fitted column-wise, non-decreasing steps of `transform`, or None if there are others."""
    if isinstance(transform, Pipeline):
        out: list[Any] = []
        for _, step in transform.steps:
            inner = _steps(step)
            if inner is None:
                return None
            out += inner
        return out
    if transform is None or transform == "passthrough":
        return []
    return [transform] if isinstance(transform, _FOLDABLE) else None


def fold_transform_into_trees(pipeline: Any, n_features: int) -> Pipeline | None:
    """A [guard, trees] pipeline on raw features equal to `pipeline`, or None when not foldable.

    Tree splits are discontinuous: a transform that rounds one unit in the last place differently
    (ONNX Runtime's ``Log`` and numpy's ``log1p`` do) sends a row sitting on a threshold down the
    other branch. So instead of converting the transform, each split's threshold is mapped back
    to raw input space through the fitted transform itself (it is column-wise and
    non-decreasing), and the ONNX trees compare raw values.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        return None
    estimator = pipeline.steps[-1][1]
    if not isinstance(estimator, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        return None
    steps = _steps(Pipeline(pipeline.steps[:-1]))
    if steps is None:
        return None
    lower = np.full(n_features, -np.finfo(np.float64).max)
    for step in steps:
        if isinstance(step, Log1pColumns):
            # log1p(-1) is -inf, which the scaler refuses: search from just above -1 (a raw -1
            # falls outside the contract's range for a log column in any case).
            lower[list(step.columns)] = np.nextafter(-1.0, 0.0)

    def column(j: int) -> Any:
        def f(values: np.ndarray) -> np.ndarray:
            matrix = np.zeros((values.size, n_features))
            matrix[:, j] = values
            # The search starts at the largest doubles, which a scaler sends to +-inf: that is
            # the right order for the search, not a warning every `make pipeline` should print.
            with np.errstate(over="ignore"):
                for step in steps:
                    matrix = step.transform(matrix)
            return np.asarray(matrix[:, j])

        return f

    folded = copy.deepcopy(estimator)
    predictors = [predictor for iteration in folded._predictors for predictor in iteration]
    tables = [predictor.nodes.copy() for predictor in predictors]
    # One search per feature over the splits of every tree (the search is element-wise): a
    # hundred trees cost one transform call per step instead of a hundred.
    for j in range(n_features):
        at = [(nodes["is_leaf"] == 0) & (nodes["feature_idx"] == j) for nodes in tables]
        if not any(mask.any() for mask in at):
            continue
        found = [nodes["num_threshold"][mask] for nodes, mask in zip(tables, at, strict=True)]
        raw = _raw_thresholds(column(j), np.concatenate(found), float(lower[j]))
        ends = np.cumsum([int(mask.sum()) for mask in at])
        for nodes, mask, part in zip(tables, at, np.split(raw, ends[:-1]), strict=True):
            nodes["num_threshold"][mask] = part
    for predictor, nodes in zip(predictors, tables, strict=True):
        predictor.nodes = nodes
    guard = RawGuard([-1.0 if v > -1.0 else -np.inf for v in lower])
    return Pipeline([("guard", guard), ("model", folded)])


def _convert_guard(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    lower = [float(v) for v in operator.raw_operator.lower]
    source = operator.inputs[0].full_name
    bound = scope.get_unique_variable_name("lower")
    nan = scope.get_unique_variable_name("nan")
    below = scope.get_unique_variable_name("below")
    container.add_initializer(bound, TensorProto.DOUBLE, [len(lower)], lower)
    container.add_initializer(nan, TensorProto.DOUBLE, [], [float("nan")])
    name = scope.get_unique_operator_name
    container.add_node("Less", [source, bound], [below], name=name("Less"))
    container.add_node(
        "Where", [below, nan, source], [operator.outputs[0].full_name], name=name("W")
    )


def _same_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    operator.outputs[0].type = DoubleTensorType(operator.inputs[0].type.shape)


def _convert_select(scope: Any, operator: Any, container: Any) -> None:
    # The served input is already the float64 feature matrix in contract order.
    container.add_node(
        "Identity",
        [operator.inputs[0].full_name],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("SelectFeatures"),
    )


def _convert_log1p(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    step: Log1pColumns = operator.raw_operator
    source = operator.inputs[0].full_name
    target = operator.outputs[0].full_name
    width = operator.inputs[0].type.shape[1]
    if not step.columns:
        container.add_node("Identity", [source], [target], name=scope.get_unique_operator_name("L"))
        return
    if not isinstance(width, int):
        raise NotConvertible("Log1pColumns: the input width must be known")
    mask = np.zeros(width, dtype=bool)
    mask[list(step.columns)] = True
    mask_name = scope.get_unique_variable_name("log1p_mask")
    one = scope.get_unique_variable_name("one")
    shifted = scope.get_unique_variable_name("plus_one")
    logged = scope.get_unique_variable_name("logged")
    container.add_initializer(mask_name, TensorProto.BOOL, [width], mask.tolist())
    container.add_initializer(one, TensorProto.DOUBLE, [], [1.0])
    container.add_node("Add", [source, one], [shifted], name=scope.get_unique_operator_name("A"))
    container.add_node("Log", [shifted], [logged], name=scope.get_unique_operator_name("Log"))
    # Where evaluates both branches; the log of an untouched column is computed and discarded.
    container.add_node(
        "Where", [mask_name, logged, source], [target], name=scope.get_unique_operator_name("W")
    )


def _convert_fill(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    source = operator.inputs[0].full_name
    value = scope.get_unique_variable_name("fill_value")
    missing = scope.get_unique_variable_name("missing")
    container.add_initializer(value, TensorProto.DOUBLE, [], [float(operator.raw_operator.value)])
    name = scope.get_unique_operator_name
    container.add_node("IsNaN", [source], [missing], name=name("IsNaN"))
    container.add_node(
        "Where", [missing, value, source], [operator.outputs[0].full_name], name=name("W")
    )


def _classifier_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        Int64TensorType,
        StringTensorType,
    )

    rows = operator.inputs[0].type.shape[0]
    classes = np.asarray(operator.raw_operator.classes_)
    if classes.dtype.kind in "iub":
        operator.outputs[0].type = Int64TensorType([rows])
    elif classes.dtype.kind in "OUS":
        operator.outputs[0].type = StringTensorType([rows])
    else:
        raise NotConvertible(f"class labels of dtype {classes.dtype} are not supported")
    operator.outputs[1].type = DoubleTensorType([rows, len(classes)])


def _regressor_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    operator.outputs[0].type = DoubleTensorType([operator.inputs[0].type.shape[0], 1])


def _tree_attributes(estimator: Any) -> dict[str, Any]:
    """The TreeEnsemble (ai.onnx.ml 5) attributes of a fitted histogram gradient boosting model."""
    from onnx import numpy_helper

    if getattr(estimator, "is_categorical_", None) is not None and np.any(
        estimator.is_categorical_
    ):
        raise NotConvertible("categorical splits of histogram gradient boosting")
    roots: list[int] = []
    feature: list[int] = []
    split: list[float] = []
    true_id: list[int] = []
    true_leaf: list[int] = []
    false_id: list[int] = []
    false_leaf: list[int] = []
    missing_true: list[int] = []
    leaf_target: list[int] = []
    leaf_weight: list[float] = []
    for iteration in estimator._predictors:
        for target, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf_index: dict[int, int] = {}
            branch_index: dict[int, int] = {}
            for i, node in enumerate(nodes):
                if node["is_leaf"]:
                    leaf_index[i] = len(leaf_target)
                    leaf_target.append(target)
                    leaf_weight.append(float(node["value"]))
            for i, node in enumerate(nodes):
                if not node["is_leaf"]:
                    branch_index[i] = len(feature) + len(branch_index)
            if not branch_index:  # a tree without a split: one branch whose sides are its leaf
                roots.append(len(feature))
                feature.append(0)
                split.append(0.0)
                for ids, leafs in ((true_id, true_leaf), (false_id, false_leaf)):
                    ids.append(leaf_index[0])
                    leafs.append(1)
                missing_true.append(0)
                continue
            roots.append(branch_index[0])
            for node in nodes:
                if node["is_leaf"]:
                    continue
                feature.append(int(node["feature_idx"]))
                split.append(float(node["num_threshold"]))
                for child, ids, leafs in (
                    (int(node["left"]), true_id, true_leaf),
                    (int(node["right"]), false_id, false_leaf),
                ):
                    is_leaf = child in leaf_index
                    ids.append(leaf_index[child] if is_leaf else branch_index[child])
                    leafs.append(int(is_leaf))
                missing_true.append(int(node["missing_go_to_left"]))
    return {
        "aggregate_function": 1,  # SUM
        "post_transform": 0,  # NONE: the link is applied by explicit nodes
        "n_targets": int(estimator.n_trees_per_iteration_),
        "tree_roots": roots,
        "nodes_featureids": feature,
        "nodes_splits": numpy_helper.from_array(np.asarray(split, dtype=np.float64)),
        "nodes_modes": numpy_helper.from_array(np.zeros(len(feature), dtype=np.uint8)),  # LEQ
        "nodes_truenodeids": true_id,
        "nodes_trueleafs": true_leaf,
        "nodes_falsenodeids": false_id,
        "nodes_falseleafs": false_leaf,
        "nodes_missing_value_tracks_true": missing_true,
        "leaf_targetids": leaf_target,
        "leaf_weights": numpy_helper.from_array(np.asarray(leaf_weight, dtype=np.float64)),
    }


def _raw_scores(scope: Any, operator: Any, container: Any) -> str:
    from onnx import TensorProto

    estimator = operator.raw_operator
    trees = scope.get_unique_variable_name("tree_sum")
    container.add_node(
        "TreeEnsemble",
        [operator.inputs[0].full_name],
        [trees],
        op_domain="ai.onnx.ml",
        op_version=3,  # recorded as 3 for skl2onnx; compiled.export_onnx raises the opset to 5
        name=scope.get_unique_operator_name("TreeEnsemble"),
        **_tree_attributes(estimator),
    )
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
    base = scope.get_unique_variable_name("baseline")
    raw = scope.get_unique_variable_name("raw")
    container.add_initializer(base, TensorProto.DOUBLE, [1, baseline.size], baseline.tolist())
    container.add_node("Add", [trees, base], [raw], name=scope.get_unique_operator_name("A"))
    return str(raw)


def _link_name(estimator: Any) -> str:
    return type(getattr(estimator._loss, "link", None)).__name__


def _convert_hgb_regressor(scope: Any, operator: Any, container: Any) -> None:
    estimator = operator.raw_operator
    if _link_name(estimator) != "IdentityLink":
        raise NotConvertible(f"histogram gradient boosting with the {estimator.loss!r} loss")
    raw = _raw_scores(scope, operator, container)
    container.add_node(
        "Identity", [raw], [operator.outputs[0].full_name], name=scope.get_unique_operator_name("I")
    )


def _convert_hgb_classifier(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    estimator = operator.raw_operator
    raw = _raw_scores(scope, operator, container)
    proba = operator.outputs[1].full_name
    name = scope.get_unique_operator_name
    if estimator.n_trees_per_iteration_ == 1:  # binary: p1 = expit(raw), p0 = 1 - p1
        p1 = scope.get_unique_variable_name("p1")
        p0 = scope.get_unique_variable_name("p0")
        one = scope.get_unique_variable_name("one")
        container.add_initializer(one, TensorProto.DOUBLE, [], [1.0])
        container.add_node("Sigmoid", [raw], [p1], name=name("S"))
        container.add_node("Sub", [one, p1], [p0], name=name("Sub"))
        container.add_node("Concat", [p0, p1], [proba], axis=1, name=name("C"))
    else:
        container.add_node("Softmax", [raw], [proba], axis=1, name=name("Softmax"))
    index = scope.get_unique_variable_name("argmax")
    container.add_node("ArgMax", [proba], [index], axis=1, keepdims=0, name=name("ArgMax"))
    classes = np.asarray(estimator.classes_)
    labels = scope.get_unique_variable_name("classes")
    if classes.dtype.kind in "iub":
        container.add_initializer(
            labels, TensorProto.INT64, [classes.size], classes.astype(np.int64).tolist()
        )
    else:
        container.add_initializer(
            labels, TensorProto.STRING, [classes.size], [str(c).encode() for c in classes]
        )
    container.add_node(
        "Gather", [labels, index], [operator.outputs[0].full_name], axis=0, name=name("G")
    )


def _convert_fixed_threshold(scope: Any, operator: Any, container: Any) -> None:
    """``FixedThresholdClassifier``: the inner model's probabilities; class 1 where p1 >= t.

    skl2onnx 1.20 converts ``TunedThresholdClassifierCV`` by passing the inner label through,
    ignoring the threshold; this applies it as scikit-learn does (``y_score >= threshold``).
    """
    from onnx import TensorProto
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common.data_types import DoubleTensorType

    model = operator.raw_operator
    threshold = model.threshold
    if isinstance(threshold, str) or model.response_method not in ("auto", "predict_proba"):
        raise NotConvertible("FixedThresholdClassifier: a numeric threshold on probabilities")
    inner = model.estimator_
    local = scope.declare_local_operator(sklearn_operator_name_map[type(inner)], inner)
    local.inputs = operator.inputs
    label = scope.declare_local_variable("inner_label", operator.outputs[0].type.__class__())
    proba = scope.declare_local_variable("inner_proba", DoubleTensorType())
    local.outputs.append(label)
    local.outputs.append(proba)
    name = scope.get_unique_operator_name
    var = scope.get_unique_variable_name
    one, bound, p1, below, above, index, labels = (
        var(n) for n in ("one", "threshold", "p1", "below", "above", "index", "classes")
    )
    container.add_initializer(one, TensorProto.INT64, [], [1])
    container.add_initializer(bound, TensorProto.DOUBLE, [], [float(threshold)])
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "iub":
        container.add_initializer(labels, TensorProto.INT64, [2], classes.astype(np.int64).tolist())
    else:
        container.add_initializer(
            labels, TensorProto.STRING, [2], [str(c).encode() for c in classes]
        )
    source = proba.onnx_name
    container.add_node("Identity", [source], [operator.outputs[1].full_name], name=name("I"))
    container.add_node("Gather", [source, one], [p1], axis=1, name=name("G"))
    container.add_node("Less", [p1, bound], [below], name=name("Less"))
    container.add_node("Not", [below], [above], name=name("Not"))
    container.add_node("Cast", [above], [index], to=TensorProto.INT64, name=name("Cast"))
    container.add_node(
        "Gather", [labels, index], [operator.outputs[0].full_name], axis=0, name=name("G")
    )


@cache
def register() -> None:
    """Register the converters with skl2onnx (once per process)."""
    from skl2onnx import update_registered_converter
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.model_selection import FixedThresholdClassifier

    update_registered_converter(
        SelectFeatures, "MlplatSelectFeatures", _same_shape, _convert_select
    )
    update_registered_converter(Log1pColumns, "MlplatLog1pColumns", _same_shape, _convert_log1p)
    update_registered_converter(FillMissing, "MlplatFillMissing", _same_shape, _convert_fill)
    update_registered_converter(
        FixedThresholdClassifier,
        "MlplatFixedThresholdClassifier",
        _classifier_shape,
        _convert_fixed_threshold,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(RawGuard, "MlplatRawGuard", _same_shape, _convert_guard)
    update_registered_converter(
        HistGradientBoostingRegressor,
        "MlplatHistGradientBoostingRegressor",
        _regressor_shape,
        _convert_hgb_regressor,
    )
    update_registered_converter(
        HistGradientBoostingClassifier,
        "MlplatHistGradientBoostingClassifier",
        _classifier_shape,
        _convert_hgb_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
