"""Stage 5, train: a seeded estimator behind the fitted transform, logged to MLflow.

The run records parameters, training metrics, the snapshot hash, the code version and the
package versions; the model is logged with its signature, an input example and the metadata
serving needs (features, contract, reference profile), so the model alone is enough to serve it.

Training is seeded, so the same snapshot, code, packages and training config give the same model.
The run is tagged with a fingerprint of exactly those; when a finished run with this fingerprint
exists, the stage reuses it instead of training again (``register`` then adds no new version).
Delete that run in MLflow to force a new one.
"""

from __future__ import annotations

__all__ = [
    "build_estimator",
    "fingerprint",
    "fit",
    "predict",
    "run",
    "threshold",
    "trusted_types",
]

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from mlplat_runtime.frames import read_frame
from mlplat_runtime.profile import build_profile
from mlplat_runtime.scoring import baseline_reference
from mlplat_runtime.tracking import ensure_experiment
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from .. import contract
from ..config import ProjectConfig
from ..context import RunContext, read_json, require_same_snapshot, write_json
from ..errors import PipelineError
from ..estimators import estimator_class
from ..features import ExpandColumns, FillMissing, Log1pColumns, SelectFeatures
from ..metrics import score
from ..provenance import code_version, package_versions


def build_estimator(config: ProjectConfig) -> BaseEstimator:
    """The configured, seeded estimator, with class weights and a tuned threshold if asked.

    A ``train.decision_threshold`` objective wraps it in ``TunedThresholdClassifierCV``: the
    threshold best on held-out folds of the training split ships inside the model.
    """
    train = config.train
    cls = estimator_class(config.problem_type, train.estimator)
    seeded: dict[str, Any] = {} if cls.__name__ == "Ridge" else {"random_state": config.seed}
    if config.problem_type == "classification" and train.class_weight != "none":
        seeded["class_weight"] = train.class_weight
    try:
        estimator = cls(**{**seeded, **train.params})
    except TypeError as error:
        raise PipelineError(
            f"train.params: {error} (valid for {cls.__name__}: see its scikit-learn docs)"
        ) from None
    if config.problem_type == "classification" and train.decision_threshold != "default":
        from sklearn.model_selection import TunedThresholdClassifierCV

        return TunedThresholdClassifierCV(
            estimator,
            scoring=train.decision_threshold,
            cv=3,
            random_state=config.seed,
        )
    return estimator


# Types skops (MLflow's safe model format) must be told to trust, per estimator, beyond the plain
# scikit-learn estimators it trusts by default. A new estimator choice adds its entry here; MLflow
# refuses to save a model holding a type missing from the list, so a gap cannot go unnoticed.
_TRUSTED_TYPES: dict[str, tuple[str, ...]] = {
    "linear": (),
    "gradient_boosting": ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",),
}


def trusted_types(config: ProjectConfig) -> list[str]:
    """The types the logged model of ``config.train.estimator`` holds that skops must trust."""
    own = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in (SelectFeatures, Log1pColumns, ExpandColumns, FillMissing)
    ]
    return [*own, *_TRUSTED_TYPES[config.train.estimator]]


def fit(config: ProjectConfig, train: pd.DataFrame, transform: Pipeline) -> Pipeline:
    """Fit the estimator on the transformed training rows; return the servable pipeline."""
    from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

    X, y = transform.transform(train), train[contract.TARGET].to_numpy()
    estimator = build_estimator(config).fit(X, y)
    if isinstance(estimator, TunedThresholdClassifierCV):
        # Ship the tuned threshold in the plain form (skops trusts it; the tuner holds scorers).
        fixed = FixedThresholdClassifier(estimator.estimator, threshold=estimator.best_threshold_)
        estimator = fixed.fit(X, y)
    return Pipeline([("features", transform), ("model", estimator)])


def predict(config: ProjectConfig, model: Pipeline, frame: pd.DataFrame) -> tuple[Any, Any]:
    """Predictions and scores: P(class 1) if binary, a DataFrame by class label if multiclass."""
    y_pred = model.predict(frame)
    if config.problem_type != "classification":
        return y_pred, None
    proba = model.predict_proba(frame)
    classes = list(model.steps[-1][1].classes_)
    if len(classes) == 2 and {int(c) for c in classes if not isinstance(c, str)} == {0, 1}:
        return y_pred, proba[:, 1]
    return y_pred, pd.DataFrame(proba, columns=classes, index=frame.index)


def threshold(model: Pipeline) -> float | None:
    """The decision threshold tuned on validation folds, when the model has one."""
    final = model.named_steps["model"]
    value = getattr(final, "best_threshold_", getattr(final, "threshold", None))
    return None if value is None or isinstance(value, str) else float(value)


def _params(config: ProjectConfig, model: Pipeline) -> dict[str, Any]:
    estimator = model.named_steps["model"]
    return {
        "estimator": type(estimator).__name__,
        "seed": config.seed,
        "test_fraction": config.split.test_fraction,
        "split_salt": config.split.salt,
        "log_columns": ",".join(config.features.log_columns),
        **{f"model.{k}": v for k, v in estimator.get_params().items()},
    }


def _example(train: pd.DataFrame) -> pd.DataFrame:
    """Five training rows as a client sends them: numbers, text categories, ISO 8601 dates."""
    example = train.loc[:, list(contract.FEATURES)].head(5)
    example = example.astype(dict.fromkeys(contract.CONTRACT.numeric_features, "float64"))
    for name in contract.CONTRACT.date_features:
        example[name] = [None if pd.isna(t) else t.isoformat() for t in example[name]]
    return example


def _tags(ctx: RunContext, data_hash: str, versions: dict[str, str]) -> dict[str, str]:
    code = code_version(ctx.root)
    return {
        "data_hash": data_hash,
        "data_source": ctx.config.data.source,
        "code_version": str(code["version"]),
        "git_sha": str(code["git_sha"]),
        "problem_type": ctx.config.problem_type,
        "python": platform.python_version(),
        **{f"package.{k}": v for k, v in versions.items()},
    }


PROFILE_ROWS = 100_000  # the most training rows the serving reference profile is built from


def _metadata(config: ProjectConfig, train: pd.DataFrame, data_hash: str) -> dict[str, Any]:
    """What serving reads from the model alone: inputs, contract and training reference.

    The reference profile (bins and shares per feature, for drift checks on live inputs) of a
    training split larger than ``PROFILE_ROWS`` is built from a seeded sample of that many rows:
    shares of ten bins are as exact at 100,000 rows as at a million (within about 0.3 points).
    """
    if len(train) > PROFILE_ROWS:
        train = train.sample(n=PROFILE_ROWS, random_state=config.seed).sort_index()
    return {
        "features": list(contract.FEATURES),
        "problem_type": config.problem_type,
        "data_hash": data_hash,
        "reference_profile": build_profile(train, contract.CONTRACT.numeric_features),
        "reference_rows": len(train),
        "contract": contract.as_dict(),
    }


_THRESHOLD_METRIC = "decision_threshold"  # logged as train_decision_threshold
_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_FINGERPRINT_TAG = "fingerprint"
_MODEL_URI_TAG = "model_uri"


def _code_hash() -> str:
    """SHA-256 of the package's source files: the code that runs, committed or not."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(config: ProjectConfig, data_hash: str, versions: dict[str, str]) -> str:
    """What decides the trained model: snapshot, code, packages and the training config.

    Evaluation thresholds, registry names and the source's path are left out: changing them
    does not change the model (``evaluate`` and ``register`` apply them to the same model).
    """
    training = config.model_dump(
        include={"problem_type", "seed", "split", "features", "train"}, mode="json"
    )
    facts = {"data": data_hash, "code": _code_hash(), "packages": versions, "config": training}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _reusable_run(ctx: RunContext, experiment_id: str, print_: str) -> Any | None:
    """A finished, active run with this fingerprint and a logged model, if any.

    Of several (identical models), the champion's run is preferred, else the latest, so a rerun
    reports "unchanged" rather than moving the champion to a twin.
    """
    from mlflow.exceptions import MlflowException

    runs = ctx.client.search_runs(
        [experiment_id],
        filter_string=f"tags.{_FINGERPRINT_TAG} = '{print_}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=50,
    )
    complete = [r for r in runs if _MODEL_URI_TAG in r.data.tags]
    if not complete:
        return None
    try:
        name = ctx.config.registry.model_name
        champion = ctx.client.get_model_version_by_alias(name, "champion").run_id
    except MlflowException:
        champion = None
    return next((r for r in complete if r.info.run_id == champion), complete[0])


def run(ctx: RunContext) -> dict[str, Any]:
    """Train (or reuse an identical run), log it, and write ``train_run`` with its URIs."""
    import mlflow
    from mlflow.models import infer_signature

    config = ctx.config
    snapshot = read_json(ctx.require("snapshot"))
    data_hash = snapshot["data_hash"]
    train = read_frame(ctx.require("train_set"))
    saved = joblib.load(ctx.require("transform"))
    require_same_snapshot(
        data_hash,
        {
            "train_set": train.attrs.get("data_hash"),
            "transform": saved.get("data_hash"),
        },
    )
    versions = package_versions()
    print_ = fingerprint(config, data_hash, versions)
    experiment_id = ensure_experiment(ctx.client, config.registry.experiment, root=ctx.root)
    previous = _reusable_run(ctx, experiment_id, print_)
    if previous is not None:
        record = {
            "run_id": previous.info.run_id,
            "experiment_id": experiment_id,
            "data_hash": data_hash,
            "code_version": previous.data.tags.get("code_version"),
            "fingerprint": print_,
            "reused": True,
            "baseline": baseline_reference(config.problem_type, train[contract.TARGET].to_numpy()),
            "threshold": previous.data.metrics.get(f"train_{_THRESHOLD_METRIC}"),
        }
        write_json(
            ctx.path("train_run"), {**record, "model_uri": previous.data.tags[_MODEL_URI_TAG]}
        )
        metrics = {
            k: round(v, 4)
            for k, v in previous.data.metrics.items()
            if k.startswith("train_") and "." not in k
        }
        return {
            "run_id": previous.info.run_id[:8],
            "training": "skipped (this run already trained on this snapshot with this code and "
            "config; seeded, so training again gives the same model)",
            **metrics,
        }
    model = fit(config, train, saved["transform"])
    y_pred, y_score = predict(config, model, train)
    train_metrics = score(config.problem_type, train[contract.TARGET].to_numpy(), y_pred, y_score)
    tuned = threshold(model)
    if tuned is not None:
        train_metrics[_THRESHOLD_METRIC] = tuned
    example = _example(train)

    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{data_hash[:8]}") as active:
        mlflow.log_params(_params(config, model))
        mlflow.log_metrics({f"train_{k}": v for k, v in train_metrics.items()})
        tags = {**_tags(ctx, data_hash, versions), _FINGERPRINT_TAG: print_}
        mlflow.set_tags(tags)
        mlflow.log_dict(read_json(ctx.resolve(snapshot["provenance"])), "data/provenance.json")
        info = mlflow.sklearn.log_model(
            sk_model=model,
            name="model",
            signature=infer_signature(example, model.predict(example)),
            input_example=example,
            metadata=_metadata(config, train, data_hash),
            # skops, MLflow's safe format, loads only sklearn's types and the ones listed here.
            serialization_format="skops",
            skops_trusted_types=trusted_types(config),
            # Pinned from this environment: inferring requirements would reload the model.
            pip_requirements=[f"{k}=={v}" for k, v in versions.items() if v != "not installed"],
        )
        # Last: a run with this tag holds a complete model, so it may be reused.
        mlflow.set_tag(_MODEL_URI_TAG, info.model_uri)
        run_id = active.info.run_id
    record = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "data_hash": data_hash,
        "code_version": tags["code_version"],
        "fingerprint": print_,
        "reused": False,
        "baseline": baseline_reference(config.problem_type, train[contract.TARGET].to_numpy()),
        "threshold": tuned,
    }
    write_json(ctx.path("train_run"), {**record, "model_uri": info.model_uri})
    # train_*: metrics on the training split; the test-split ones are evaluate's.
    shown = {f"train_{k}": round(v, 4) for k, v in train_metrics.items() if "." not in k}
    return {"run_id": run_id[:8], **shown}
