"""Tuning: Optuna trials in SQLite, resume, defaults as trial 0, a TOML usable by ``route``."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.suite.tune import tune
from optimizer.routing import RoutingParams
from tests.benchmarks.toy import TOY, make_instances, toy


def test_tune_resumes_and_writes_routing_params(tmp_path: Path) -> None:
    """Three trials, then a resumed study to four runs exactly one more; trial 0 is the
    defaults, the best is no worse, and the TOML is accepted by ``RoutingParams.from_toml``."""
    fam = toy()
    inst = fam.instances(make_instances(tmp_path / "inst", {"a": 100.0, "b": 50.0}))
    kw = {
        "time_limit": 1.0,
        "storage": f"sqlite:///{tmp_path / 'study.db'}",
        "study_name": "s",
        "out": tmp_path / "best.toml",
        "jobs": 2,
    }
    first = tune(fam, TOY, inst, trials=3, **kw)
    assert (first.trials_total, first.trials_run_now) == (3, 3)
    # the toy's default slack is 10 %; the time term adds at most 0.01
    assert first.default_value == pytest.approx(10.0, abs=0.011)
    assert first.best_value <= first.default_value
    again = tune(fam, TOY, inst, trials=4, **kw)
    assert (again.trials_total, again.trials_run_now) == (4, 1)
    params = RoutingParams.from_toml(tmp_path / "best.toml")
    assert params.metaheuristic == again.best_params.get("metaheuristic", "gls")
    assert (tmp_path / "best.trials.jsonl").is_file()


def test_tune_refuses_a_study_run_with_other_settings(tmp_path: Path) -> None:
    """Resuming a study with a different time limit would mix incomparable trials: refused."""
    fam = toy()
    inst = fam.instances(make_instances(tmp_path / "inst", {"a": 100.0}))
    kw = {
        "storage": f"sqlite:///{tmp_path / 'study.db'}",
        "study_name": "s",
        "out": tmp_path / "best.toml",
    }
    tune(fam, TOY, inst, trials=1, time_limit=1.0, **kw)
    with pytest.raises(ValueError, match="time_limit"):
        tune(fam, TOY, inst, trials=2, time_limit=2.0, **kw)


def test_score_is_gap_first_then_time() -> None:
    """The score is the mean gap; failures count 100 %; at equal gaps the faster configuration
    scores lower, but never by more than ``TIME_WEIGHT``."""
    from benchmarks.suite.tune import FAIL_GAP, TIME_WEIGHT, _score

    def row(cost: float | None, secs: float, feasible: bool = True) -> dict:
        return {
            "instance": "a",
            "cost": cost,
            "best_known": 100.0,
            "feasible": feasible,
            "seconds": secs,
        }

    slow = _score([row(100.0, 10.0), row(110.0, 10.0)], {}, 10.0)
    fast = _score([row(100.0, 1.0), row(110.0, 1.0)], {}, 10.0)
    assert slow == pytest.approx(5.0 + TIME_WEIGHT)
    assert fast == pytest.approx(5.0 + 0.1 * TIME_WEIGHT)
    assert _score([row(None, 1.0, feasible=False)], {}, 10.0) == pytest.approx(
        FAIL_GAP + 0.1 * TIME_WEIGHT
    )
    # a reference replaces a missing best-known value
    assert _score([{**row(120.0, 0.0), "best_known": None}], {"a": 100.0}, 10.0) == pytest.approx(
        20.0
    )
