"""Command line of continued evaluation: ``feedback`` (labels in) and ``monitor`` (quality out).

Usage::

    python -m <package>.monitoring feedback labels.csv      # make feedback SOURCE=labels.csv
    python -m <package>.monitoring monitor [--retrain]      # make monitor [RETRAIN=1]
    python -m <package>.monitoring monitor --training-set --labels DIR   # the platform's step

Exit codes: 0 when the command ran, whatever the monitor decided (the decision is the last line
printed, ``decision: ok|warn|retrain: <reason>``, and ``decision.action`` in
``artifacts/monitor/report.json``, which a scheduler reads); 1 when it failed (including a
retraining run that failed); 2 for a bad config or a feedback file that breaks the contract.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from .config import load_config, project_root
from .context import RunContext
from .errors import ConfigError, ContractViolation, PipelineError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.monitoring",
        description="Labels in (feedback) and live quality out (monitor).",
    )
    parser.add_argument("--config", type=Path, help="config file (default: ./config.toml)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    commands = parser.add_subparsers(dest="command", required=True)
    feedback = commands.add_parser("feedback", help="add a labels file to the label store")
    feedback.add_argument("source", type=Path, help="a .csv or .parquet file of labels")
    monitor = commands.add_parser("monitor", help="measure live quality; decide ok/warn/retrain")
    act = monitor.add_mutually_exclusive_group()
    act.add_argument(
        "--retrain",
        action="store_true",
        help="on a retrain decision, train on the labelled production rows (make pipeline's "
        "gates decide the champion)",
    )
    act.add_argument(
        "--training-set",
        action="store_true",
        help="on a retrain decision, write the labelled production rows as a training table "
        "and its path to artifacts/monitor/training-source, and train nothing (the platform's "
        "monitor hands the table to the pipeline's WorkflowTemplate)",
    )
    monitor.add_argument(
        "--labels",
        type=Path,
        metavar="DIR",
        help="first add every .csv/.parquet labels file under DIR to the label store, as "
        "feedback does (a file already stored adds nothing)",
    )
    return parser


def _feedback(root: Path, source: Path) -> None:
    from .stages.feedback import feedback

    receipt = feedback(root, source)
    if not receipt.added:
        print(
            f"{source}: these {receipt.rows} labels are already stored (batch "
            f"{receipt.content_hash[:16]}, {receipt.ingested_at}): nothing added"
        )
        return
    print(
        f"{source}: {receipt.rows} labels stored as batch {receipt.content_hash[:16]}"
        f" ({receipt.corrections} correcting an earlier label)"
    )


def _labels(root: Path, inbox: Path) -> None:
    """Every labels file under ``inbox``, in name order, through ``feedback``."""
    if not inbox.is_dir():
        raise ConfigError(f"--labels {inbox} is not a directory")
    for source in sorted(inbox.rglob("*")):
        if source.suffix in (".csv", ".parquet") and source.is_file():
            _feedback(root, source)


def _monitor(ctx: RunContext, *, retrain: bool, training_set: bool) -> None:
    from .stages.monitor import monitor

    outcome = monitor(ctx, retrain=retrain or training_set, train=not training_set)
    result = outcome.result
    counts = result.report["counts"]
    skipped = ", ".join(outcome.not_sliced)
    print(
        f"{counts['predictions']} predictions, {counts['labelled']} labelled, "
        f"{counts['rejected_by_contract']} rejected by the contract; sliced by "
        f"{', '.join(outcome.sliced_by) or 'nothing'}"
        + (f" (not by {skipped}: neither recorded nor in the labels)" if skipped else "")
    )
    print(f"wrote {result.json_path} and {result.html_path}")
    if outcome.retrained is not None:
        print(f"retrained on {outcome.training_source}")
    elif outcome.training_source is not None:
        print(f"wrote the training table {outcome.training_source} (not trained here)")
    elif result.decision.action == "retrain" and not retrain:
        print("to retrain on the labelled production rows: make monitor RETRAIN=1")
    print(f"decision: {result.decision.action}: {result.decision.reason}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (see the module docstring)."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        root = project_root()
        if args.command == "feedback":
            _feedback(root, args.source)
        else:
            if args.labels is not None:
                _labels(root, args.labels)
            ctx = RunContext(config=config, root=root)
            _monitor(ctx, retrain=args.retrain, training_set=args.training_set)
    except Exception as error:
        if args.verbose:
            traceback.print_exc()
        if isinstance(error, ConfigError | ContractViolation):
            print(f"error: {error}", file=sys.stderr)
            return 2
        if isinstance(error, PipelineError):
            print(f"error: {error}", file=sys.stderr)
            return 1
        hint = "" if args.verbose else "\nRerun with --verbose (VERBOSE=1) for the traceback."
        print(f"error: {type(error).__name__}: {error}{hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
