"""Resume never mixes configurations: a recorded row is reused only for the same parameters,
and a tuning trial is scored on its own rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.suite.runner import BenchError, Config, build_tasks, read_rows, run_suite
from benchmarks.suite.tune import tune
from tests.benchmarks.toy import TOY, make_instances, toy


def test_a_config_recorded_with_other_parameters_is_refused(tmp_path: Path) -> None:
    """Re-running into the same results file after editing a configuration (same name, slack
    0.1 -> 0.3) used to skip every solve as already recorded and keep reporting the old
    numbers (gap 10 %) under the name: now it is an error naming the configuration."""
    fam = toy()
    inst = fam.instances(make_instances(tmp_path / "inst", {"a": 100.0}))
    out = tmp_path / "r.jsonl"

    def tasks(slack: float) -> list:
        cfg = Config("fast", "good", {"slack": slack})
        return build_tasks(fam, TOY, inst, configs=[cfg], seeds=[0], time_limits=[1.0], peers=False)

    run_suite(tasks(0.1), out)
    assert run_suite(tasks(0.1), out) == []  # the same configuration: resumed, nothing to do
    with pytest.raises(BenchError, match=r"'fast'.*other parameters"):
        run_suite(tasks(0.3), out)
    assert [r["params"] for r in read_rows(out)] == [{"slack": 0.1}]


def test_a_second_study_into_the_same_out_scores_its_trials(tmp_path: Path) -> None:
    """Two studies writing the same ``--out`` (hence the same trials file): the second's trial
    0 (the defaults, 10 % on the toy) found its rows already recorded, ran nothing and scored
    an empty set as a failure (100.01). It must score 10 % like the first."""
    fam = toy()
    inst = fam.instances(make_instances(tmp_path / "inst", {"a": 100.0}))
    kw = {
        "time_limit": 1.0,
        "storage": f"sqlite:///{tmp_path / 's.db'}",
        "out": tmp_path / "b.toml",
    }
    first = tune(fam, TOY, inst, trials=1, study_name="s1", **kw)
    second = tune(fam, TOY, inst, trials=1, study_name="s2", **kw)
    assert first.default_value == pytest.approx(10.0, abs=0.011)
    assert second.default_value == pytest.approx(10.0, abs=0.011)
