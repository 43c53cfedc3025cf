"""Tuning: Optuna trials in SQLite, resume, defaults as trial 0, a TOML usable by ``route``."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.bench.tune import tune
from optimizer.routing import RoutingParams
from tests.api.bench.toy import TOY, make_instances, toy


def test_tune_resumes_and_writes_routing_params(tmp_path: Path) -> None:
    """Three trials, then a resumed study to four runs exactly one more; trial 0 is the
    defaults, the best is no worse, and the TOML is accepted by ``RoutingParams.from_toml``."""
    fam = toy()
    inst = fam.instances(make_instances(tmp_path / "inst", {"a": 100.0, "b": 50.0}))
    kw = dict(time_limit=1.0, storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="s",
              out=tmp_path / "best.toml", jobs=2)
    first = tune(fam, TOY, inst, trials=3, **kw)
    assert (first.trials_total, first.trials_run_now) == (3, 3)
    assert first.default_value == pytest.approx(10.0)  # the toy's default slack is 10 %
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
    kw = dict(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="s",
              out=tmp_path / "best.toml")
    tune(fam, TOY, inst, trials=1, time_limit=1.0, **kw)
    with pytest.raises(ValueError, match="time_limit"):
        tune(fam, TOY, inst, trials=2, time_limit=2.0, **kw)
