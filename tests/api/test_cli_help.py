"""``--help`` shows the default of every option that has one."""

from __future__ import annotations

import argparse

import pytest

from api.cli import build_parser, main


def _options_with_defaults() -> list[tuple[str, argparse.Action]]:
    out: list[tuple[str, argparse.Action]] = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub, p in a.choices.items():
                    walk(p, f"{name} {sub}")
            elif (
                a.option_strings
                and a.default not in (None, [], argparse.SUPPRESS)
                and not isinstance(a.default, bool)  # --flag switches
                and not isinstance(a, argparse._CountAction)  # -v
            ):
                out.append((name, a))

    walk(build_parser(), "tradelane")
    return out


def test_every_default_is_shown() -> None:
    """An option with a default says it ("default ..." in its help), with its value."""
    missing = [
        f"{cmd} {a.option_strings[-1]} (default {a.default!r})"
        for cmd, a in _options_with_defaults()
        if "default" not in (a.help or "") or str(a.default) not in (a.help or "")
    ]
    assert not missing, missing


def test_generate_help_shows_tier_and_seed_defaults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``generate --help``: tier S and seed 0 are the defaults (the help did not say); the
    default name is lower case (the help said REGION-TIER-SEED)."""
    monkeypatch.setenv("COLUMNS", "200")  # one line per option
    with pytest.raises(SystemExit) as done:
        main(["generate", "--help"])
    assert done.value.code == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.strip()}
    assert lines["--tier"].endswith("(default S)")
    assert lines["--seed"].endswith("(non-negative integer, default 0)")
    assert lines["--name"].endswith("(default region-tier-seed in lower case, e.g. sea-s-0)")


def test_bench_tune_help_offers_one_time_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``bench tune --help``: one time limit (tune refuses several, exit 2); it showed
    ``bench``'s ``S[,S...]`` and its help about several comma-separated limits."""
    monkeypatch.setenv("COLUMNS", "200")
    helps = {}
    for cmd in ("bench", "bench tune"):
        with pytest.raises(SystemExit) as done:
            main([*cmd.split(), "--help"])
        assert done.value.code == 0
        out = " ".join(capsys.readouterr().out.split())  # wrapped lines joined
        helps[cmd] = out[out.index("--time-limit S", out.index("options:")) :]
    assert helps["bench tune"].startswith("--time-limit S solver time limit in seconds: one limit")
    assert helps["bench"].startswith("--time-limit S[,S...] solver time limit in seconds; several")


def test_options_whatif_says_are_as_in_plan_take_plans_values() -> None:
    """``whatif --strategy`` is "as in tradelane plan", but lacked ``blocks`` (added to plan
    later): every option both commands have offers the same choices."""

    def options(cmd: str) -> dict[str, argparse.Action]:
        (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        return {a.option_strings[-1]: a for a in sub.choices[cmd]._actions if a.option_strings}

    plan, whatif = options("plan"), options("whatif")
    shared = [o for o in whatif if o in plan and plan[o].choices is not None]
    assert "--strategy" in shared and "--solver" in shared
    for o in shared:
        assert list(whatif[o].choices or ()) == list(plan[o].choices or ()), o


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """``tradelane --version`` prints the distribution's version and exits 0 (it was a usage
    error, exit 2, asking for a command)."""
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tradelane {version('tradelane')}"
