"""The tables `run.py` prints: every server as a fraction of the ceiling, with the load average."""

from __future__ import annotations

import re
from typing import Any


def _ceiling(results: list[dict[str, Any]], workers: int, rows: int) -> dict[str, Any] | None:
    for r in results:
        if str(r.get("server", "")).startswith("ceiling") and (r.get("workers"), r.get("rows")) == (
            workers,
            rows,
        ):
            return r
    return None


PEERS = ("uvicorn", "kserve", "mlserver", "bentoml", "litserve", "mlflow")


def print_ratios(steady: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """Ours over every peer at each worker count (1-row V2), and the issue's two goals."""
    print("\nours (V2, 1-row) / peer, req/s; goals: >= 0.5 of the ceiling, >= 100x mlflow at 2")
    for workers in sorted({r["workers"] for r in steady}):
        mine = [r for r in steady if r["workers"] == workers and r["rows"] == 1]
        ours = next((r for r in mine if r["server"].startswith("ours (V2")), None)
        if ours is None:
            continue
        ratios = []
        for peer in PEERS:
            other = next((r for r in mine if r["server"].startswith(f"{peer} (")), None)
            if other and other["rps"] > 0:
                ratios.append(f"{peer} {ours['rps'] / other['rps']:.1f}x")
        print(f"{workers} worker(s): " + (", ".join(ratios) or "no peer measured"))
        top = _ceiling(results, workers, 1)
        if top:
            share = ours["rps"] / top["rps"]
            verdict = "met" if share >= 0.5 else "not met"
            print(f"  goal, V2 1-row at half the ceiling: {share:.2f} of it, {verdict}")
        flow = next((r for r in mine if r["server"].startswith("mlflow (")), None)
        if flow and workers == 2:
            ratio = ours["rps"] / flow["rps"] if flow["rps"] else float("inf")
            verdict = "met" if ratio >= 100 else "not met"
            print(f"  goal, >= 100x mlflow models serve at 2 workers: {ratio:.0f}x, {verdict}")


def print_report(results: list[dict[str, Any]], info: dict[str, Any]) -> None:
    """Steady-state table (shares of the ceiling), ratios to every peer, overload, venvs."""
    steady = [r for r in results if "rps" in r]
    print("\nV2 and /invocations, 16 connections, wrk, 127.0.0.1; best of the interleaved rounds")
    print("| server | req/s | p50 ms | p99 ms | x ceiling req/s | p99 / ceiling p99 | load avg |")
    print("|---|---|---|---|---|---|---|")
    for r in steady:
        top = _ceiling(results, r["workers"], r["rows"])
        share = f"{r['rps'] / top['rps']:.2f}" if top else "-"
        tail = f"{r['p99'] / top['p99']:.2f}" if top else "-"
        print(
            f"| {r['server']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {share} "
            f"| {tail} | {r['load']:.1f} |"
        )
    print_ratios(steady, results)
    print("\noverload (closed loop, wrk --timeout 2s)")
    print("| server | conns | req/s | 200 | 503 | other | timeouts | p99 ms | deadline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for o in r.get("overload", []):
            other = sum(
                v for k, v in o.items() if re.fullmatch(r"s\d+", k) and k not in ("s200", "s503")
            )
            deadline = f"{o['deadline_ms']} ms" if o["deadline_ms"] else "default"
            print(
                f"| {r['server']} | {o['connections']} | {o['rps']:.0f} | {o.get('s200', 0):.0f} "
                f"| {o.get('s503', 0):.0f} | {other:.0f} | {o['timeouts']:.0f} | {o['p99']:.1f} "
                f"| {deadline} |"
            )
    print(
        f"\nmodel: {info['name']} v{info['version']} served on {info['runtime']}; one 1-row model "
        f"call (contract check + predict): {info['call_us']:.1f} us compiled, "
        f"{info['sklearn_call_us']:.1f} us through sklearn"
    )
    for peer, facts in info.get("venvs", {}).items():
        size, took = facts["size_mib"], facts["install_s"]
        print(f"{peer} venv: {facts['path']} ({size} MiB, installed in {took} s)")


__all__ = ["print_ratios", "print_report"]
