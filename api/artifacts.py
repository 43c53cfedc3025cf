"""Files derived from a succeeded plan, as served by ``GET /v1/plans/{id}/<file>``.

Each is made from the stored plan and the job's scenario (for node coordinates and lane ends)
on first request and kept in the database (:class:`api.network_store.NetworkStore`); a plan
never changes once it has succeeded, so neither do its files.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from typing import Any

from api.network_store import Artifact, NetworkStore

__all__ = ["KINDS", "build_once", "geo_of_document", "rows_csv"]

KINDS: dict[str, str] = {
    "plan.geojson": "application/geo+json",
    "map.png": "image/png",
    "report.html": "text/html; charset=utf-8",
    "stock.csv": "text/csv; charset=utf-8",
    "fulfilment.csv": "text/csv; charset=utf-8",
    "orders.csv": "text/csv; charset=utf-8",
    "transfers.csv": "text/csv; charset=utf-8",
}
_FIRST = {
    "stock.csv": ["sku", "warehouse", "units", "on_hand", "in_transit"],
    "fulfilment.csv": [
        "sku",
        "zone",
        "source",
        "mode",
        "lanes",
        "units",
        "hours",
        "on_time",
        "p_on_time",
    ],
}
_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def geo_of_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Node coordinates and explicit lane ends of a (validated) scenario document."""
    return {
        "nodes": {
            n["id"]: {
                "lat": float(n["lat"]),
                "lon": float(n["lon"]),
                "kind": n["kind"],
                "country": n["country"],
            }
            for n in doc.get("nodes", [])
        },
        "lanes": {ln["id"]: (ln["from"], ln["to"], ln["mode"]) for ln in doc.get("lanes", [])},
        "cards": {c["id"]: c.get("mode", "last_mile") for c in doc.get("rate_cards", [])},
    }


def rows_csv(rows: list[dict[str, Any]], first: list[str]) -> bytes:
    """Rows as CSV with a header: the ``first`` columns present, then the others; lists of lanes
    are joined with ``>``, booleans written ``true``/``false``."""
    keys: list[str] = [k for k in first if any(k in r for r in rows[:1000])]
    seen = set(keys)
    for r in rows[:1000]:
        for k in r:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    if not keys:
        keys = list(first[:3])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        w.writerow(
            [
                (
                    ">".join(map(str, v))
                    if isinstance(v, list)
                    else ("true" if v else "false")
                    if isinstance(v, bool)
                    else ""
                    if v is None
                    else v
                )
                for v in (r.get(k) for k in keys)
            ]
        )
    return buf.getvalue().encode("utf-8")


def build(kind: str, plan: dict[str, Any], scenario: dict[str, Any] | None) -> bytes:
    """The bytes of one artifact of ``plan`` (``scenario``: the job's scenario document)."""
    from optimizer.plan.document import Plan
    from optimizer.plan.io import draw_map, flows_geojson, state_csv

    if kind in ("stock.csv", "fulfilment.csv"):  # the JSON rows as they are stored
        key = kind.split(".", maxsplit=1)[0]
        return rows_csv(list(plan.get(key, [])), _FIRST[kind])
    typed = Plan.from_json(plan)
    if kind in ("orders.csv", "transfers.csv"):
        return state_csv(typed)[kind]
    gj = flows_geojson(typed, geo_of_document(scenario or {}))
    if kind == "plan.geojson":
        return json.dumps(gj, allow_nan=False).encode("utf-8")
    buf = io.BytesIO()
    draw_map(typed, gj, buf)
    if kind == "map.png":
        return buf.getvalue()
    if kind == "report.html":
        from optimizer.plan.report import report_html

        return report_html(typed, map_png=buf.getvalue()).encode("utf-8")
    raise ValueError(f"kind={kind!r} not understood.")


def build_once(
    networks: NetworkStore, job_id: str, kind: str, plan: dict[str, Any], scenario: Any
) -> Artifact:
    """Make and store an artifact the caller found missing: one request per artifact builds
    it while parallel requests for the same one wait, then find it stored (read again under
    the lock; only that re-check reads the database again)."""
    with _locks_guard:
        lock = _locks.setdefault((job_id, kind), threading.Lock())
    with lock:
        found = networks.artifact(job_id, kind)
        if found is None:
            doc = None if kind.endswith(".csv") else scenario()
            content = build(kind, plan, doc)
            networks.save_artifact(job_id, kind, KINDS[kind], content)
            found = Artifact(kind, KINDS[kind], content)
    with _locks_guard:
        _locks.pop((job_id, kind), None)
    return found
