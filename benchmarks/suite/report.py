"""Reports from benchmark rows: a Markdown table, a performance profile and a gap-over-time plot.

Per family and time limit, one table line per configuration (our configurations and the peers):

- ``solves``, ``ok`` (feasible by the evaluator), and the count of every other status;
  ``missing``: the (instance, seed) pairs of the table that other configurations ran and this
  one has no row for (an interrupted run, rows deleted by hand); they count as not feasible in
  the feasible share and are named in a note under the table, so two means over different
  instance sets never sit side by side without a word;
- ``mean gap %`` / ``max gap %`` / ``median gap %`` over feasible solves (status ``ok`` and
  feasible by the evaluator; no other row is ever a number in a mean). The reference is the
  best-known value; where a row has none (synthetic scenarios, generated days, Gehring &
  Homberger, whose best-known values are of another objective) the reference is the best
  feasible cost found for that instance in the same results, over every configuration, seed and
  time limit, and the header says so (``gap*``);
- ``mean s`` and ``median s`` (solve wall-clock; the median is the figure to quote on a
  shared, noisy machine) and ``peak MB`` (max); ``over limit``: the solves whose wall-clock
  exceeded the time limit by more than ``OVER_LIMIT_RATIO`` - 1 (10 %), named in a note (a
  solver that takes more time than the limit is not compared on the same limit);
- ``vs PEER``: geometric mean of ``cost / peer cost`` over the (instance, seed) pairs where both
  are feasible (below 1 = cheaper than the peer); ``pairs vs PEER``: how many of the
  configuration's solves that covers, and a note under the table names each pair left out and
  why (ours or the peer infeasible, failed, not run);
- ``gap to own bound %`` (when solvers report a bound, e.g. the MIPs): mean of
  ``100 (cost - bound) / cost``, how far from proven optimal the solutions are.

Per-instance tables: each configuration's mean gap over its feasible seeds; when some seeds
were not feasible the cell says how many were and what the others did
(``10.00 (1 of 2; infeasible 1)``), and with none feasible it gives the statuses.

Above the tables, a warning names a configuration whose rows carry several parameter sets under
one name, and solves recorded more than once (files concatenated by hand): both would otherwise
be mixed into one line of the figures. Another names the feasible solves that are *below* their
best-known value (a negative gap): on a table of proven optima or best-known solutions that
means the value belongs to another objective or convention (or a new record to be checked),
never a figure to quote.

Performance profile (Dolan & Moré 2002, on cost): for each problem (instance, seed, time limit)
the ratio of a configuration's cost to the best cost any configuration found; the curve gives
the share of problems solved within a factor ``tau`` of the best (infeasible or failed = never).
Higher and further left is better.

Gap over time: from the improving-solution samples a solver recorded (PyVRP does; OR-Tools
routing does not expose them through ``optimizer.routing``), the mean gap over instances at each
time; and from runs at several time limits (``--time-limit 2,5,10``), the mean final gap at each
limit (markers).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "OVER_LIMIT_RATIO",
    "markdown_report",
    "over_limit",
    "plot_gap_over_time",
    "plot_performance_profile",
    "summarise",
    "write_report",
]

Row = dict[str, Any]

_LEFT_OUT_SHOWN = 10
"""Pairs named per configuration and peer in the note under a table (then a count)."""

OVER_LIMIT_RATIO = 1.1
"""A solve whose wall-clock exceeds ``time_limit`` times this overran its limit (the limit +
10 % that ``plan`` and ``route`` promise)."""

BELOW_BKS_TOL = 1e-6
"""Relative tolerance under a best-known value before a cost counts as below it (the tables
give values to a few decimals; OR-Library's agree within 0.001)."""


def over_limit(r: Row) -> bool:
    """Whether the row's solve took more than ``OVER_LIMIT_RATIO`` times its time limit."""
    s, tl = r.get("seconds"), r.get("time_limit")
    if s is None or not tl:
        return False
    return float(s) > OVER_LIMIT_RATIO * float(tl)


def _below_best_known(r: Row) -> bool:
    """A feasible cost below the row's best-known value (beyond ``BELOW_BKS_TOL``)."""
    c, b = _feasible_cost(r), r.get("best_known")
    if c is None or b is None:
        return False
    return c < float(b) - BELOW_BKS_TOL * max(1.0, abs(float(b)))


def _label(r: Row) -> str:
    return str(r["config"]) if r["config"] == r["solver"] else f"{r['config']} ({r['solver']})"


def _feasible_cost(r: Row) -> float | None:
    """The cost of a solve that is ok and feasible by the evaluator, else None (a row whose
    status is not ``ok`` never counts, whatever its ``feasible`` field says)."""
    c = r.get("cost")
    if r.get("status") == "ok" and r.get("feasible") and c is not None and math.isfinite(float(c)):
        return float(c)
    return None


def natural_key(name: str) -> list[Any]:
    """Sort key that orders ``cap41`` before ``cap101`` and ``X-n101`` before ``X-n1001``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(name))]


def _references(rows: Sequence[Row]) -> dict[tuple[str, str], tuple[float, bool]]:
    """(family, instance) -> (reference cost, is best-known)."""
    ref: dict[tuple[str, str], tuple[float, bool]] = {}
    best: dict[tuple[str, str], float] = {}
    for r in rows:
        k = (r["family"], r["instance"])
        if r.get("best_known") is not None:
            ref[k] = (float(r["best_known"]), True)
        c = _feasible_cost(r)
        if c is not None:
            best[k] = min(best.get(k, math.inf), c)
    for k, c in best.items():
        ref.setdefault(k, (c, False))
    return ref


def _gap(cost: float, ref: float) -> float:
    return 100.0 * (cost - ref) / abs(ref) if ref else 0.0


def _gaps(costs: npt.NDArray[np.float64], ref: float) -> npt.NDArray[np.float64]:
    """:func:`_gap` of each cost."""
    return 100.0 * (costs - ref) / abs(ref) if ref else np.zeros_like(costs)


def _mean_bound_gap(rs: Sequence[Row]) -> float | None:
    """Mean ``100 (cost - bound) / cost`` over feasible rows whose solver reported a bound."""
    gaps = []
    for r in rs:
        c = _feasible_cost(r)
        b = (r.get("info") or {}).get("bound") if isinstance(r.get("info"), dict) else None
        if c is not None and b is not None and math.isfinite(float(b)) and c > 0:
            gaps.append(100.0 * (c - float(b)) / c)
    return float(np.mean(gaps)) if gaps else None


def summarise(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """One summary record per (family, time limit, configuration), in a stable order."""
    refs = _references(rows)
    groups: dict[tuple[str, float, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r["family"], float(r.get("time_limit") or 0), _label(r))].append(r)
    peers_of: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if (
            r["config"] == r["solver"]
            and r["solver"] in ("pyvrp", "monolithic", "naive")
            and r["solver"] not in peers_of[r["family"]]
        ):
            peers_of[r["family"]].append(r["solver"])
    # the (instance, seed) pairs of each table: what every configuration should have a row for
    expected: dict[tuple[str, float], set[tuple[str, int]]] = defaultdict(set)
    for r in rows:
        expected[(r["family"], float(r.get("time_limit") or 0))].add(
            (r["instance"], int(r["seed"]))
        )
    cost_of: dict[tuple[str, float, str, str, int], float] = {}
    status_of: dict[tuple[str, float, str, str, int], str] = {}
    for r in rows:
        status_of[
            (r["family"], float(r.get("time_limit") or 0), _label(r), r["instance"], int(r["seed"]))
        ] = str(r["status"] if _feasible_cost(r) is None else "ok")
        c = _feasible_cost(r)
        if c is not None:
            cost_of[
                (
                    r["family"],
                    float(r.get("time_limit") or 0),
                    _label(r),
                    r["instance"],
                    int(r["seed"]),
                )
            ] = c
    out = []
    for (fam, tl, label), rs in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0], kv[0][1], kv[1][0]["config"] == kv[1][0]["solver"], kv[0][2]),
    ):
        gaps = []
        for r in rs:
            c = _feasible_cost(r)
            if c is not None and (fam, r["instance"]) in refs:
                gaps.append(_gap(c, refs[(fam, r["instance"])][0]))
        statuses: dict[str, int] = defaultdict(int)
        for r in rs:
            statuses[r["status"]] += 1
        present = {(r["instance"], int(r["seed"])) for r in rs}
        missing_pairs = sorted(
            expected[(fam, tl)] - present, key=lambda p: (natural_key(p[0]), p[1])
        )
        secs = [float(r["seconds"]) for r in rs if r.get("seconds") is not None]
        mem = [float(r["peak_mb"]) for r in rs if r.get("peak_mb") is not None]
        ratios: dict[str, float | None] = {}
        pairs: dict[str, tuple[int, int]] = {}
        left_out: dict[str, list[str]] = {}
        for peer in peers_of[fam]:
            if label == peer:
                continue
            logs = []
            missing = []
            # a pair this configuration has no row for is left out too, and said so
            for inst, seed in missing_pairs:
                key = (fam, tl, peer, inst, seed)
                theirs = status_of.get(key, "not run")
                missing.append(f"{inst} seed {seed} (ours not run, {peer} {theirs})")
            for r in sorted(rs, key=lambda r: (natural_key(r["instance"]), int(r["seed"]))):
                c = _feasible_cost(r)
                key = (fam, tl, peer, r["instance"], int(r["seed"]))
                pc = cost_of.get(key)
                if c is not None and pc is not None and c > 0 and pc > 0:
                    logs.append(math.log(c / pc))
                    continue
                why = []
                if c is None:
                    why.append(f"ours {r['status'] if r['status'] != 'ok' else 'infeasible'}")
                if pc is None:
                    why.append(f"{peer} {status_of.get(key, 'not run')}")
                elif pc <= 0 or (c is not None and c <= 0):
                    why.append("cost not positive")
                missing.append(f"{r['instance']} seed {r['seed']} ({', '.join(why)})")
            ratios[peer] = math.exp(sum(logs) / len(logs)) if logs else None
            pairs[peer] = (len(logs), len(rs) + len(missing_pairs))
            left_out[peer] = missing
        out.append(
            {
                "family": fam,
                "time_limit": tl,
                "config": label,
                "solves": len(rs),
                "ok": sum(1 for r in rs if _feasible_cost(r) is not None),
                "statuses": dict(statuses),
                "missing": [f"{i} seed {sd}" for i, sd in missing_pairs],
                "over_limit": [
                    f"{r['instance']} seed {r['seed']} ({float(r['seconds']):.1f} s)"
                    for r in sorted(rs, key=lambda r: (natural_key(r["instance"]), int(r["seed"])))
                    if over_limit(r)
                ],
                "mean_gap": float(np.mean(gaps)) if gaps else None,
                "max_gap": float(np.max(gaps)) if gaps else None,
                "median_gap": float(np.median(gaps)) if gaps else None,
                "mean_s": float(np.mean(secs)) if secs else None,
                "median_s": float(np.median(secs)) if secs else None,
                "peak_mb": float(np.max(mem)) if mem else None,
                "vs_peer": ratios,
                "vs_peer_pairs": pairs,
                "vs_peer_left_out": left_out,
                "gap_is_bks": all(refs.get((fam, r["instance"]), (0, False))[1] for r in rs),
                "bound_gap": _mean_bound_gap(rs),
            }
        )
    return out


def _f(v: float | None, spec: str = ".2f") -> str:
    if v is None:
        return "–"
    s = format(v, spec)
    return s[1:] if s.startswith("-") and float(s) == 0 else s  # no "-0.00"


def _per_instance(rows: Sequence[Row]) -> list[str]:
    """Per-instance tables: mean gap % over seeds per configuration (or the failure)."""
    refs = _references(rows)
    lines = []
    tables: dict[tuple[str, float], list[Row]] = defaultdict(list)
    for r in rows:
        tables[(r["family"], float(r.get("time_limit") or 0))].append(r)
    for (fam, tl), rs in sorted(tables.items()):
        labels = sorted(
            {_label(r) for r in rs}, key=lambda x: (x in ("pyvrp", "monolithic", "naive"), x)
        )
        star = "" if all(refs.get((fam, r["instance"]), (0, False))[1] for r in rs) else "*"
        lines += [
            f"### {fam}, time limit {tl:g} s: gap{star} % per instance (mean over seeds)",
            "",
            "| instance | best-known | " + " | ".join(labels) + " |",
            "|---|---:|" + "---:|" * len(labels),
        ]
        for inst in sorted({r["instance"] for r in rs}, key=natural_key):
            ref = refs.get((fam, inst))
            cells = []
            for lab in labels:
                mine = [r for r in rs if r["instance"] == inst and _label(r) == lab]
                gaps = [
                    _gap(c, ref[0]) for r in mine if (c := _feasible_cost(r)) is not None and ref
                ]
                failed = [r for r in mine if _feasible_cost(r) is None]
                if gaps and failed:
                    # never a plain mean over the seeds that worked: say what the others did
                    st: dict[str, int] = defaultdict(int)
                    for r in failed:
                        st[r["status"] if r["status"] != "ok" else "infeasible"] += 1
                    cells.append(
                        f"{_f(float(np.mean(gaps)))} ({len(gaps)} of {len(mine)}; "
                        + ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
                        + ")"
                    )
                elif gaps:
                    cells.append(_f(float(np.mean(gaps))))
                else:
                    cells.append(", ".join(sorted({r["status"] for r in mine})) or "not run")
            bks = next(
                (
                    r["best_known"]
                    for r in rs
                    if r["instance"] == inst and r.get("best_known") is not None
                ),
                None,
            )
            lines.append(
                f"| {inst} | {_f(bks, '.10g') if bks is not None else '–'} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    return lines


def _mixing_warnings(rows: Sequence[Row]) -> list[str]:
    """Warning lines for rows that would be mixed in a table line without a word: one
    configuration name with several parameter sets, and a solve recorded more than once."""
    params: dict[tuple[str, str], set[str]] = defaultdict(set)
    copies: dict[tuple[str, str, str, int, float], int] = defaultdict(int)
    for r in rows:
        params[(r["family"], _label(r))].add(json.dumps(r.get("params") or {}, sort_keys=True))
        copies[
            (r["family"], _label(r), r["instance"], int(r["seed"]), float(r.get("time_limit") or 0))
        ] += 1
    out = [
        f"**Warning**: {fam}, configuration {label}: rows with {len(ps)} different parameter "
        "sets under one name; its figures mix them."
        for (fam, label), ps in sorted(params.items())
        if len(ps) > 1
    ]
    again = [k for k, n in copies.items() if n > 1]
    if again:
        named = "; ".join(f"{f} {lab} {i} seed {s} at {t:g} s" for f, lab, i, s, t in again[:5])
        out.append(
            f"**Warning**: {len(again)} solve(s) recorded more than once ({named}"
            + (", ..." if len(again) > 5 else "")
            + "); every copy counts in the figures."
        )
    return [*out, ""] if out else []


def _named(items: Sequence[str]) -> str:
    """``items`` joined for a note, the first ``_LEFT_OUT_SHOWN`` named, then a count."""
    more = len(items) - _LEFT_OUT_SHOWN
    return "; ".join(items[:_LEFT_OUT_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def _below_best_known_warning(rows: Sequence[Row]) -> list[str]:
    """A warning naming the feasible solves below their best-known value."""
    below = [r for r in rows if _below_best_known(r)]
    if not below:
        return []
    named = _named(
        [
            f"{r['family']} {_label(r)} {r['instance']} seed {r['seed']} at "
            f"{float(r.get('time_limit') or 0):g} s: {float(r['cost']):.10g} < "
            f"{float(r['best_known']):.10g}"
            for r in below
        ]
    )
    warning = (
        f"**Warning**: {len(below)} feasible solve(s) below the best-known value ({named}). "
        "A best-known value is a lower limit only under its own objective and distance "
        "convention: check that the value is of the objective solved (e.g. a fixed fleet, "
        "vehicles first) before reading these gaps, or verify the new record."
    )
    return [warning, ""]


def markdown_report(
    rows: Sequence[Row],
    *,
    title: str = "results",
    images: Sequence[str] = (),
    per_instance: bool = True,
) -> str:
    """The Markdown summary (one table per family and time limit, then per-instance gaps)."""
    summ = summarise(rows)
    lines = [f"# Benchmark report: {title}", ""]
    n_inst = len({(r["family"], r["instance"]) for r in rows})
    loads = [
        float(r["info"]["load_1min_at_start"])
        for r in rows
        if isinstance(r.get("info"), dict) and r["info"].get("load_1min_at_start") is not None
    ]
    cpus = next(
        (
            r["info"].get("cpus")
            for r in rows
            if isinstance(r.get("info"), dict) and r["info"].get("cpus")
        ),
        None,
    )
    if loads:
        lines.append(
            f"Machine: {cpus or '?'} CPU(s); 1-minute load average at the start of "
            f"the solves: median {float(np.median(loads)):.1f}, max {max(loads):.1f} "
            "(time-limited results degrade when it exceeds the CPU count)."
        )
        lines.append("")
    lines.append(
        f"{len(rows)} solve(s) on {n_inst} instance(s). Gaps are to the best-known "
        "value; `gap*` marks tables where some instance has none and the best feasible "
        "cost in these results is used instead. `feasible` is the independent "
        "evaluator's verdict. `vs X` = geometric mean of cost / X's cost on the same "
        "instance and seed (< 1: cheaper than X)."
    )
    lines.append("")
    lines += _mixing_warnings(rows)
    lines += _below_best_known_warning(rows)
    by_table: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for s in summ:
        by_table[(s["family"], s["time_limit"])].append(s)
    for (fam, tl), ss in by_table.items():
        peers = sorted({p for s in ss for p in s["vs_peer"]})
        star = "" if all(s["gap_is_bks"] for s in ss) else "*"
        lines.append(f"## {fam}, time limit {tl:g} s")
        lines.append("")
        bounds = any(s["bound_gap"] is not None for s in ss)
        head = (
            [
                "configuration",
                "solves",
                "feasible",
                f"mean gap{star} %",
                f"max gap{star} %",
                f"median gap{star} %",
                "mean s",
                "median s",
                "peak MB",
            ]
            + [f"vs {p}" for p in peers]
            + [f"pairs vs {p}" for p in peers]
            + (["gap to own bound %"] if bounds else [])
            + ["over limit", "other statuses"]
        )
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 2) + ["---"]) + "|")
        for s in ss:
            other = ", ".join(
                [f"{k} {v}" for k, v in sorted(s["statuses"].items()) if k != "ok"]
                + ([f"missing {len(s['missing'])}"] if s["missing"] else [])
            )
            cells = [
                s["config"],
                str(s["solves"]),
                # a missing solve is not a feasible one
                f"{100.0 * s['ok'] / (s['solves'] + len(s['missing'])):.0f}%",
                _f(s["mean_gap"]),
                _f(s["max_gap"]),
                _f(s["median_gap"]),
                _f(s["mean_s"], ".1f"),
                _f(s["median_s"], ".1f"),
                _f(s["peak_mb"], ".0f"),
            ]
            cells += [_f(s["vs_peer"].get(p), ".4f") if p != s["config"] else "–" for p in peers]
            cells += [
                f"{s['vs_peer_pairs'][p][0]} of {s['vs_peer_pairs'][p][1]}"
                if p in s["vs_peer_pairs"]
                else "–"
                for p in peers
            ]
            if bounds:
                cells.append(_f(s["bound_gap"]))
            cells.append(str(len(s["over_limit"])))
            cells.append(other)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        notes = [
            f"- vs {p}, {s['config']}: left out "
            + "; ".join(s["vs_peer_left_out"][p][:_LEFT_OUT_SHOWN])
            + (
                f"; and {len(s['vs_peer_left_out'][p]) - _LEFT_OUT_SHOWN} more"
                if len(s["vs_peer_left_out"][p]) > _LEFT_OUT_SHOWN
                else ""
            )
            for s in ss
            for p in peers
            if s["vs_peer_left_out"].get(p)
        ]
        if notes:
            lines += [
                "(instance, seed) pairs not in a `vs` ratio (it needs both solves feasible):",
                "",
                *notes,
                "",
            ]
        gone = [f"- {s['config']}: {_named(s['missing'])}" for s in ss if s["missing"]]
        if gone:
            lines += [
                (
                    "Solves other configurations ran and these have no row for (not in any of "
                    "their figures; the feasible share counts them as not feasible):"
                ),
                "",
                *gone,
                "",
            ]
        over = [f"- {s['config']}: {_named(s['over_limit'])}" for s in ss if s["over_limit"]]
        if over:
            lines += [
                (
                    f"Solves over their {tl:g} s limit by more than "
                    f"{100 * (OVER_LIMIT_RATIO - 1):.0f} % (they had more time than the others):"
                ),
                "",
                *over,
                "",
            ]
    if per_instance:
        lines += _per_instance(rows)
    for img in images:
        lines.append(f"![{Path(img).stem}]({img})")
        lines.append("")
    return "\n".join(lines)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_performance_profile(rows: Sequence[Row], path: Path) -> Path:
    """Dolan–Moré performance profile on cost, one panel per family; saved as PNG."""
    plt = _plt()
    fams = sorted({r["family"] for r in rows})
    fig, axes = plt.subplots(1, len(fams), figsize=(5.5 * len(fams), 4), squeeze=False)
    for ax, fam in zip(axes[0], fams, strict=True):
        rs = [r for r in rows if r["family"] == fam]
        labels = sorted({_label(r) for r in rs})
        problems = sorted(
            {(r["instance"], int(r["seed"]), float(r.get("time_limit") or 0)) for r in rs}
        )
        cost = np.full((len(problems), len(labels)), np.inf)
        pi = {p: i for i, p in enumerate(problems)}
        li = {lab: j for j, lab in enumerate(labels)}
        for r in rs:
            c = _feasible_cost(r)
            if c is not None:
                i = pi[(r["instance"], int(r["seed"]), float(r.get("time_limit") or 0))]
                cost[i, li[_label(r)]] = min(cost[i, li[_label(r)]], c)
        best = cost.min(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(np.isfinite(cost) & (best > 0), cost / best, np.inf)
            ratio = np.where(np.isfinite(cost) & (best <= 0) & (cost <= best), 1.0, ratio)
        finite = ratio[np.isfinite(ratio)]
        tmax = max(1.01, float(finite.max()) * 1.02) if finite.size else 1.1
        taus = np.linspace(1.0, tmax, 400)
        for j, lab in enumerate(labels):
            rho = [(ratio[:, j] <= t + 1e-12).mean() for t in taus]
            ax.step(taus, rho, where="post", label=lab)
        ax.set_title(f"{fam}: performance profile (cost)")
        ax.set_xlabel("tau (cost / best cost on the problem)")
        ax.set_ylabel("share of problems within tau")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_gap_over_time(rows: Sequence[Row], path: Path) -> Path:
    """Mean gap (%) over time per configuration, one panel per family; saved as PNG.

    Lines: improving-solution samples of the runs at the longest time limit (mean over those
    runs of the best gap reached by time t, drawn where every run has a solution). Markers:
    mean final gap at each time limit, when several limits were run.
    """
    plt = _plt()
    refs = _references(rows)
    fams = sorted({r["family"] for r in rows})
    fig, axes = plt.subplots(1, len(fams), figsize=(5.5 * len(fams), 4), squeeze=False)
    for ax, fam in zip(axes[0], fams, strict=True):
        rs = [r for r in rows if r["family"] == fam]
        drawn = False
        for lab in sorted({_label(r) for r in rs}):
            mine = [r for r in rs if _label(r) == lab]
            # samples: best gap by time t, per run; mean over the runs at the longest limit
            # (a shorter run would otherwise carry its final gap past its own limit)
            longest = max(
                (float(r.get("time_limit") or 0) for r in mine if r.get("samples")), default=0.0
            )
            runs = []
            for r in mine:
                if float(r.get("time_limit") or 0) != longest:
                    continue
                ref = refs.get((fam, r["instance"]))
                if r.get("samples") and ref and _feasible_cost(r) is not None:
                    s = np.asarray(r["samples"], dtype=float)
                    runs.append(
                        (
                            s[:, 0],
                            np.minimum.accumulate(_gaps(s[:, 1], ref[0])),
                            float(r.get("time_limit") or s[-1, 0]),
                        )
                    )
            line = None
            if runs:
                tmax = max(tl for *_, tl in runs)
                grid = np.geomspace(max(min(t[0] for t, *_ in runs), 1e-3), tmax, 200)
                vals = []
                for t, g, _ in runs:
                    idx = np.searchsorted(t, grid, side="right") - 1
                    vals.append(np.where(idx >= 0, g[np.clip(idx, 0, None)], np.nan))
                mean = np.mean(np.vstack(vals), axis=0)
                (line,) = ax.plot(grid, mean, label=f"{lab} (samples)")
                drawn = True
            # several time limits: mean final gap at each limit
            by_tl: dict[float, list[float]] = defaultdict(list)
            for r in mine:
                c, ref = _feasible_cost(r), refs.get((fam, r["instance"]))
                if c is not None and ref:
                    by_tl[float(r["time_limit"])].append(_gap(c, ref[0]))
            if len(by_tl) > 1:
                tls = sorted(by_tl)
                kw = {"color": line.get_color()} if line is not None else {}
                ax.plot(tls, [np.mean(by_tl[t]) for t in tls], "o--", label=f"{lab} (limits)", **kw)
                drawn = True
        ax.set_xscale("log")
        ax.set_title(f"{fam}: mean gap over time")
        ax.set_xlabel("seconds")
        ax.set_ylabel("gap % (to best-known / best found)")
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(
                0.5,
                0.5,
                "no samples and a single time limit:\nrun --time-limit 2,5,10",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(rows: Sequence[Row], out_dir: Path, *, title: str = "results") -> dict[str, Path]:
    """Write ``report.md``, ``profile.png`` and ``gap_time.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    prof = plot_performance_profile(rows, out_dir / "profile.png")
    gap = plot_gap_over_time(rows, out_dir / "gap_time.png")
    md = out_dir / "report.md"
    md.write_text(markdown_report(rows, title=title, images=(prof.name, gap.name)))
    return {"markdown": md, "profile": prof, "gap_time": gap}
