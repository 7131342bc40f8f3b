"""The project's typed, validated configuration (``config.toml`` at the project root).

Resolution order: an explicit path, then ``$ML_PROJECT_CONFIG``, then ``config.toml`` in the
project root (``$ML_PROJECT_ROOT`` or the working directory). Every model forbids unknown keys, so
a typo stops the run with a message naming the key instead of being silently ignored.
"""

from __future__ import annotations

__all__ = [
    "ArgoConfig",
    "DataConfig",
    "EvaluateConfig",
    "FairnessConfig",
    "FeaturesConfig",
    "ProjectConfig",
    "RegistryConfig",
    "SplitConfig",
    "TrainConfig",
    "ValidateConfig",
    "load_config",
    "parse_config",
    "project_root",
]

import os
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError

CONFIG_ENV = "ML_PROJECT_CONFIG"
ROOT_ENV = "ML_PROJECT_ROOT"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Model):
    """Where the data comes from and which columns matter."""

    source: str = Field(
        description="'builtin:<name>' for a bundled sample, or a .parquet/.csv path"
    )
    sensitive_columns: tuple[str, ...] = ()
    slice_columns: tuple[str, ...] = ()
    n_rows: int = Field(default=4000, ge=100, le=1_000_000)
    snapshot_dir: str = "data/snapshots"


class ValidateConfig(_Model):
    """Distribution checks against the saved reference profile."""

    reference_profile: str = "data/reference/profile.json"
    max_psi: float = Field(default=0.2, gt=0)


class SplitConfig(_Model):
    """Hash-of-key split: the salt and the fraction fix every row's split for good."""

    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    salt: str = "split-v1"


class FeaturesConfig(_Model):
    """The transform fitted in training and shipped inside the model."""

    log_columns: tuple[str, ...] = ()


class TrainConfig(_Model):
    """The estimator and its hyper-parameters."""

    estimator: Literal["linear", "gradient_boosting"] = "linear"
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)


class FairnessConfig(_Model):
    """Gap allowed between groups of each sensitive column."""

    metric: Literal["recall", "selection_rate", "mae"]
    max_gap: float = Field(gt=0)
    min_group_size: int = Field(default=20, ge=1)


class EvaluateConfig(_Model):
    """Thresholds that decide promotion."""

    primary_metric: Literal["roc_auc", "accuracy", "f1", "r2", "rmse", "mae"]
    min_primary: float | None = None
    max_primary: float | None = None
    max_drop_vs_champion: float = Field(default=0.01, ge=0)
    allow_incomparable_champion: bool = False
    fairness: FairnessConfig


class RegistryConfig(_Model):
    """Names in the MLflow tracking server and model registry."""

    experiment: str = Field(min_length=1)
    model_name: str = Field(min_length=1)


# Cron fields as Argo's scheduler (robfig/cron, standard parser) reads them: (name, min, max).
_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
)
_CRON_NAMES = {
    "month": "jan feb mar apr may jun jul aug sep oct nov dec".split(),
    "day of week": "sun mon tue wed thu fri sat".split(),
}
_CRON_DESCRIPTORS = {
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _cron_problem(schedule: str) -> str | None:
    """What is wrong with a cron schedule, or ``None`` when Argo's scheduler accepts it."""
    if schedule.strip().lower() in _CRON_DESCRIPTORS:
        return None
    fields = schedule.split()
    if len(fields) != len(_CRON_FIELDS):
        return f"needs 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for text, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        names = _CRON_NAMES.get(name, [])
        for part in text.lower().split(","):
            span, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) > 0):
                return f"{name} '{text}': the step after '/' must be a positive number"
            if span in ("*", "?"):
                continue
            for bound in span.split("-", 1):
                value = names.index(bound) + low if bound in names else None
                if value is None and not bound.isdigit():
                    return f"{name} '{text}' is not a number, a range or '*'"
                if not low <= (value if value is not None else int(bound)) <= high:
                    return f"{name} '{text}' is outside {low}-{high}"
    return None


class ArgoConfig(_Model):
    """The pipeline on the platform's Argo Workflows (``--runner argo``) and its retrain schedule.

    Defaults match what ``mlplat up`` deploys: workflows run in ``mlplat-pipelines`` as the
    ``argo-workflow`` service account, and reach MLflow at its in-cluster address.
    """

    image: str = Field(default=f"{__package__}:latest", pattern=r"^[^\s]+$")
    namespace: str = "mlplat-pipelines"
    service_account: str = "argo-workflow"
    mlflow_tracking_uri: str = Field(
        default="http://mlflow.mlplat-registry.svc.cluster.local:5000", pattern=r"^https?://\S+$"
    )
    schedules: tuple[str, ...] = Field(default=("0 3 * * 1",), min_length=1)
    timezone: str = "UTC"
    cpu: str = Field(default="1", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field(default="2Gi", pattern=r"^\d+(Ki|Mi|Gi)$")
    timeout_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)

    @field_validator("namespace", "service_account")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"'{value}' is not a Kubernetes name (a-z, 0-9 and '-', 63 at most)")
        return value

    @field_validator("schedules")
    @classmethod
    def _cron(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for schedule in value:
            problem = _cron_problem(schedule)
            if problem is not None:
                raise ValueError(f"schedule '{schedule}': {problem}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not an IANA time zone (like UTC or Europe/Berlin)"
            ) from None
        return value


class ProjectConfig(_Model):
    """The whole configuration; every section is validated when the file is loaded."""

    problem_type: Literal["classification", "regression"]
    seed: int = 42
    data: DataConfig
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    split: SplitConfig = Field(default_factory=SplitConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig
    registry: RegistryConfig
    argo: ArgoConfig = Field(default_factory=ArgoConfig)

    @model_validator(mode="after")
    def _consistent(self) -> ProjectConfig:
        from .contract import COLUMNS, FEATURES

        names = {c.name for c in COLUMNS}
        for key, columns, allowed in (
            ("data.sensitive_columns", self.data.sensitive_columns, names),
            ("data.slice_columns", self.data.slice_columns, names),
            ("features.log_columns", self.features.log_columns, set(FEATURES)),
        ):
            unknown = [c for c in columns if c not in allowed]
            if unknown:
                raise ValueError(
                    f"{key} names {', '.join(unknown)}, not in the data contract "
                    f"(contract.py has {', '.join(sorted(allowed))})"
                )
        classification = self.problem_type == "classification"
        metric = self.evaluate.fairness.metric
        if classification == (metric == "mae"):
            fitting = "recall or selection_rate" if classification else "mae"
            raise ValueError(
                f"evaluate.fairness.metric '{metric}' does not fit problem_type "
                f"'{self.problem_type}': use {fitting}"
            )
        primary = self.evaluate.primary_metric
        if classification != (primary in {"roc_auc", "accuracy", "f1"}):
            raise ValueError(
                f"evaluate.primary_metric '{primary}' does not fit problem_type "
                f"'{self.problem_type}'"
            )
        return self


def project_root() -> Path:
    """The project directory: ``$ML_PROJECT_ROOT`` or the working directory."""
    return Path(os.environ.get(ROOT_ENV) or Path.cwd()).resolve()


def _format(error: ValidationError, path: Path) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling against config.py)"
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  - {key}: {message}")
    return f"invalid config {path}:\n" + "\n".join(lines)


def parse_config(raw: dict[str, Any], *, path: Path) -> ProjectConfig:
    """Validate an already-parsed config mapping (used by tests and ``load_config``)."""
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format(error, path)) from None


def load_config(path: Path | None = None) -> ProjectConfig:
    """Load and validate the project config.

    Args:
        path: The TOML file; ``None`` uses ``$ML_PROJECT_CONFIG`` or ``config.toml`` in the root.

    Raises:
        ConfigError: The file is missing, is not valid TOML, or a key is unknown or invalid; the
            message names the key.
    """
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        path = Path(env) if env else project_root() / "config.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found: run from the project root or set ${CONFIG_ENV}"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    return parse_config(raw, path=path)
