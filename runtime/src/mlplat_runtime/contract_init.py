"""``make contract``: a first contract, config and reference profile from your own data file.

Usage: ``python -m mlplat_runtime.contract_init --package PKG SOURCE [--target COL] [--key COL]
[--sensitive A,B] [--problem classification|regression] [--force] [--verbose]`` (``make contract
SOURCE=... TARGET=... KEY=... SENSITIVE=... PROBLEM=... FORCE=1``).

It reads the file, infers the contract (``infer.py``), checks that the file passes it, then
writes three files, each atomically: ``src/<package>/contract.py``, the keys of ``config.toml``
that depend on the data (every other key and comment is kept), and the reference profile; and
the README's request examples, from the file's first rows, between their markers (the rest of
the README is left as it is; see ``readme_examples.py``). It refuses to replace a
``contract.py`` someone edited unless ``--force`` is given, and prints what it decided and what
to review.
"""

from __future__ import annotations

__all__ = ["ContractPlan", "main", "plan_contract", "write_contract"]

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomlkit

from .contract_file import is_unedited, render_contract
from .errors import ContractViolation, PipelineError
from .infer import Draft, InferOptions, describe_column, infer_contract
from .paths import CONFIG_ENV, project_root, write_json
from .profile import build_profile
from .readme_examples import Examples, render_examples, update_readme
from .rules import Contract
from .tables import read_table

_ONE_LINE = 60  # longer lists are written one item per line
# Defaults the template writes for each problem type; applied when the problem type changes.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "classification": {
        "primary_metric": "roc_auc",
        "min_primary": 0.75,
        "fairness_metric": "recall",
        "max_gap": 0.1,
    },
    "regression": {
        "primary_metric": "r2",
        "min_primary": 0.3,
        "fairness_metric": "mae",
        "max_gap": 0.2,
    },
}

# Hyper-parameters written per (problem type, estimator): each is one the estimator accepts, so
# switching the problem type never leaves params the configured estimator rejects.
_PARAMS: dict[tuple[str, str], dict[str, Any]] = {
    ("classification", "linear"): {"C": 1.0, "max_iter": 500},
    ("regression", "linear"): {"alpha": 1.0},
    ("classification", "gradient_boosting"): {"max_iter": 200},
    ("regression", "gradient_boosting"): {"max_iter": 200},
}


@dataclass(frozen=True, kw_only=True)
class ContractPlan:
    """What ``make contract`` will write, computed before anything is written.

    Attributes:
        draft: The inferred contract and config keys.
        contract_text: The new ``contract.py``.
        config_text: The new ``config.toml``.
        profile: The reference profile of the data under the new contract.
        changed_keys: ``"key: old -> new"`` for every config key that changes.
        rows: Rows in the source.
        file_columns: Columns in the source.
        source_entry: ``data.source`` as written into ``config.toml``.
        examples: The README's request-example block from the data, or None (no complete row).
        readme_note: What became of the README's examples (set once written).
    """

    draft: Draft
    contract_text: str
    config_text: str
    profile: dict[str, Any]
    changed_keys: tuple[str, ...]
    rows: int
    file_columns: int
    source_entry: str
    examples: Examples | None = None
    readme_note: str = ""


@dataclass(frozen=True, kw_only=True)
class _Paths:
    root: Path
    contract: Path
    config: Path


def _paths(root: Path, package: str) -> _Paths:
    contract = root / "src" / package / "contract.py"
    if not contract.is_file():
        raise PipelineError(
            f"{contract} not found: run make contract from the project root (the directory with "
            "config.toml and src/)"
        )
    env = os.environ.get(CONFIG_ENV)
    config = Path(env) if env else root / "config.toml"
    if not config.is_file():
        raise PipelineError(f"config file {config} not found: run from the project root")
    return _Paths(root=root, contract=contract, config=config)


def _source_entry(source: Path, root: Path) -> str:
    try:
        return source.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(source.resolve())


def _set(table: Any, key: str, value: Any, changes: list[str], where: str) -> None:
    old = table.get(key)
    plain = old.unwrap() if hasattr(old, "unwrap") else old
    if plain == value:
        return
    if isinstance(value, dict):
        inline = tomlkit.inline_table()
        inline.update(value)
        table[key] = inline
    elif isinstance(value, list):
        array = tomlkit.array()
        array.extend(value)
        table[key] = array.multiline(len(repr(value)) > _ONE_LINE)
    else:
        table[key] = value
    changes.append(f"{where}{key}: {plain!r} -> {value!r}")


def _edit_config(text: str, draft: Draft, source: str) -> tuple[str, list[str]]:
    """``config.toml`` with the data-dependent keys set; other keys and comments are kept."""
    doc = tomlkit.parse(text)
    changes: list[str] = []
    type_changed = doc.get("problem_type") != draft.problem_type
    _set(doc, "problem_type", draft.problem_type, changes, "")
    data = doc.setdefault("data", tomlkit.table())
    _set(data, "source", source, changes, "data.")
    _set(data, "sensitive_columns", list(draft.sensitive), changes, "data.")
    _set(data, "slice_columns", list(draft.slices), changes, "data.")
    features = doc.setdefault("features", tomlkit.table())
    _set(features, "log_columns", list(draft.log_columns), changes, "features.")
    if type_changed:
        defaults = _DEFAULTS[draft.problem_type]
        train = doc.setdefault("train", tomlkit.table())
        estimator = str(train.get("estimator", "linear"))
        params = _PARAMS.get((draft.problem_type, estimator), {})
        _set(train, "params", params, changes, "train.")
        evaluate = doc.setdefault("evaluate", tomlkit.table())
        _set(evaluate, "primary_metric", defaults["primary_metric"], changes, "evaluate.")
        _set(evaluate, "min_primary", defaults["min_primary"], changes, "evaluate.")
        if "max_primary" in evaluate:
            del evaluate["max_primary"]
            changes.append("evaluate.max_primary: removed (it was for the other problem type)")
        fairness = evaluate.setdefault("fairness", tomlkit.table())
        _set(fairness, "metric", defaults["fairness_metric"], changes, "evaluate.fairness.")
        _set(fairness, "max_gap", defaults["max_gap"], changes, "evaluate.fairness.")
    _balance(doc, draft, changes)
    return tomlkit.dumps(doc), changes


def _balance(doc: Any, draft: Draft, changes: list[str]) -> None:
    """Class weights, threshold and primary metric for an imbalanced target (else the defaults).

    A rare positive class makes accuracy and ROC AUC look good for a model that never finds it:
    the primary metric becomes PR AUC (its baseline is the positive share, so the baseline gate
    bites), with no absolute floor, and the threshold is tuned for f1 on validation folds.
    """
    train = doc.setdefault("train", tomlkit.table())
    tuned_before = str(train.get("decision_threshold", "default")) != "default"
    classification = draft.problem_type == "classification"
    weight = "balanced" if classification and draft.imbalanced else "none"
    tuned = "f1" if classification and draft.imbalanced and draft.binary else "default"
    if weight != "none" or "class_weight" in train:
        _set(train, "class_weight", weight, changes, "train.")
    if tuned != "default" or "decision_threshold" in train:
        _set(train, "decision_threshold", tuned, changes, "train.")
    split = doc.setdefault("split", tomlkit.table())
    if (classification and draft.imbalanced) or "stratify" in split:
        _set(split, "stratify", bool(classification and draft.imbalanced), changes, "split.")
    evaluate = doc.setdefault("evaluate", tomlkit.table())
    if classification and not (draft.imbalanced and draft.binary) and tuned_before:
        # A previous make contract tuned for a rare class; this data has none: back to defaults.
        defaults = _DEFAULTS["classification"]
        _set(evaluate, "primary_metric", defaults["primary_metric"], changes, "evaluate.")
        _set(evaluate, "min_primary", defaults["min_primary"], changes, "evaluate.")
    if classification and draft.imbalanced and draft.binary:
        _set(evaluate, "primary_metric", "pr_auc", changes, "evaluate.")
        if "min_primary" in evaluate:
            del evaluate["min_primary"]
            changes.append(
                "evaluate.min_primary: removed (pr_auc has no fixed floor: the baseline gate "
                "compares it with the positive share)"
            )


def _config_numbers(text: str) -> tuple[float, int, str]:
    doc = tomlkit.parse(text).unwrap()
    fraction = float(doc.get("split", {}).get("test_fraction", 0.2))
    group = int(doc.get("evaluate", {}).get("fairness", {}).get("min_group_size", 20))
    reference = str(doc.get("validate", {}).get("reference_profile", "data/reference/profile.json"))
    return fraction, group, reference


def plan_contract(
    source: Path, *, root: Path, config_text: str, options: InferOptions
) -> ContractPlan:
    """Everything ``make contract`` writes, computed and checked, with nothing written yet.

    Raises:
        PipelineError: The file cannot be read, or the data cannot get a contract this pipeline
            can train on (the message says what to change).
    """
    frame = read_table(source, what="SOURCE")
    draft = infer_contract(frame, options)
    try:
        validated = Contract(draft.columns).validate_frame(frame.rename(columns=str))
    except ContractViolation as error:  # a bug in inference, not in the data: say so plainly
        raise PipelineError(f"the inferred contract rejects its own data: {error}") from None
    entry = _source_entry(source, root)
    config_text, changes = _edit_config(config_text, draft, entry)
    registry = tomlkit.parse(config_text).unwrap().get("registry", {})
    examples = render_examples(
        validated,
        features=draft.features,
        key=Contract(draft.columns).key,
        model_name=str(registry.get("model_name") or root.name),
    )
    return ContractPlan(
        draft=draft,
        contract_text=render_contract(draft.columns, source=entry, left_out=draft.left_out),
        config_text=config_text,
        profile=build_profile(validated, Contract(draft.columns).numeric_features),
        changed_keys=tuple(changes),
        rows=len(frame),
        file_columns=len(frame.columns),
        source_entry=entry,
        examples=examples,
    )


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, "utf-8")
    os.replace(temporary, path)


def write_contract(
    source: Path, *, root: Path, package: str, options: InferOptions, force: bool
) -> ContractPlan:
    """Plan, then write ``contract.py``, ``config.toml`` and the reference profile.

    Raises:
        PipelineError: ``contract.py`` was edited and ``force`` is false (nothing is written), or
            planning failed.
    """
    paths = _paths(root, package)
    current = paths.contract.read_text("utf-8")
    if not force and not is_unedited(current):
        raise PipelineError(
            f"{paths.contract.relative_to(root)} was edited since it was written (its "
            "fingerprint line no longer matches), so make contract will not replace it: keep "
            "your edits and change it by hand, or rerun with FORCE=1 to replace it (the old file "
            "is kept as contract.py.bak)"
        )
    config_text = paths.config.read_text("utf-8")
    fraction, group, reference = _config_numbers(config_text)
    options = InferOptions(
        target=options.target,
        key=options.key,
        sensitive=options.sensitive,
        test_fraction=fraction,
        min_group_size=group,
        problem=options.problem,
    )
    plan = plan_contract(source, root=root, config_text=config_text, options=options)
    if force and not is_unedited(current):
        _atomic_write(paths.contract.with_name("contract.py.bak"), current)
    profile_path = root / reference
    profile_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = profile_path.with_name(f".{profile_path.name}.tmp")
    write_json(temporary, plan.profile)
    os.replace(temporary, profile_path)
    _atomic_write(paths.config, plan.config_text)
    _atomic_write(paths.contract, plan.contract_text)
    return replace(plan, readme_note=update_readme(root / "README.md", plan.examples))


def report(
    plan: ContractPlan, *, source: Path, root: Path, package: str, echo: Callable[[str], None]
) -> None:
    """Print what was decided, written and left to review."""
    draft = plan.draft
    columns = draft.columns
    echo(
        f"make contract: {source} ({plan.rows} rows, {plan.file_columns} columns): "
        f"{len(columns)} columns in the contract"
    )
    for line in draft.decisions:
        echo(f"  {line}")
    features = [describe_column(c) for c in columns if c.role == "feature"]
    echo(f"  features ({len(features)}): {', '.join(features)}")
    attributes = [describe_column(c) for c in columns if c.role == "attribute"]
    if attributes:
        echo(f"  attributes, not features ({len(attributes)}): {', '.join(attributes)}")
    echo(f"  sensitive (fairness gate): {', '.join(draft.sensitive) or 'none'}")
    echo(f"  slices (metrics per group): {', '.join(draft.slices)}")
    echo(f"  log1p before scaling (skewed): {', '.join(draft.log_columns) or 'none'}")
    for line in draft.left_out:
        echo(f"  left out: {line}")
    echo(f"wrote src/{package}/contract.py, config.toml and the reference profile")
    for line in plan.changed_keys:
        echo(f"  config.toml {line}")
    if plan.readme_note:
        echo(plan.readme_note)
    if Path(plan.source_entry).is_absolute():
        echo(
            "note: the source is outside the project, so config.toml names its absolute path; "
            "copy it into the project (say data/raw/) and rerun make contract to keep the "
            "project self-contained"
        )
    if (root / "mlflow.db").exists() and not os.environ.get("MLFLOW_TRACKING_URI"):
        echo(
            "note: this project has a local MLflow store (mlflow.db); a champion in it trained "
            "on other data cannot score this data and blocks promotion: make clean starts a "
            "fresh store, or set evaluate.allow_incomparable_champion = true for one run"
        )
    echo("review:")
    for line in draft.review:
        echo(f"  - {line}")
    echo("next: make pipeline, then make test; commit contract.py, config.toml and the profile")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlplat_runtime.contract_init",
        description="Infer contract.py, the data keys of config.toml and the reference profile "
        "from a CSV or Parquet file.",
    )
    parser.add_argument(
        "--package", required=True, help="the project's import package (src/PACKAGE/contract.py)"
    )
    parser.add_argument("source", type=Path, help="the data file (.csv or .parquet)")
    parser.add_argument("--target", help="the column to predict")
    parser.add_argument("--key", help="the unique row key column")
    parser.add_argument(
        "--sensitive", default="", help="comma-separated columns for the fairness gate"
    )
    parser.add_argument(
        "--problem",
        choices=("classification", "regression"),
        help="the problem type, when the target alone cannot tell (whole numbers, few values)",
    )
    parser.add_argument("--force", action="store_true", help="replace an edited contract.py")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: 0 written, 2 refused (the message says why), 1 a bug."""
    args = _parser().parse_args(argv)
    root = project_root()
    options = InferOptions(
        target=args.target or None,
        key=args.key or None,
        sensitive=tuple(s.strip() for s in args.sensitive.split(",") if s.strip()),
        problem=args.problem or None,
    )
    source = args.source if args.source.is_absolute() else root / args.source
    try:
        plan = write_contract(
            source, root=root, package=args.package, options=options, force=args.force
        )
    except PipelineError as error:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        if not args.verbose:
            print("Rerun with VERBOSE=1 (--verbose) for the traceback.", file=sys.stderr)
        return 1
    report(plan, source=args.source, root=root, package=args.package, echo=print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
