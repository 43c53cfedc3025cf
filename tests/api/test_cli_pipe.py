"""A closed standard output (``tradelane paths … --json | head``) ends the command quietly with
exit 141 (128 + SIGPIPE), as any command killed by SIGPIPE would; a broken pipe elsewhere
stays an internal error."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from tests.api.server import ROOT


def _with_stdout_closed(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``tradelane ARGS`` with standard output a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)  # as head does once it has its lines, here before the first byte
    try:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            check=False,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        os.close(write)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
@pytest.mark.parametrize(
    "args",
    [
        ["paths", "{scenario}", "--from", "CN-SZX", "--to", "Z-KUL", "--json"],
        ["validate", "{scenario}"],
    ],
    ids=lambda a: a[0],
)
def test_a_closed_stdout_ends_quietly(data_dir: Path, args: list[str]) -> None:
    """Nothing on stderr (it said "internal error: BrokenPipeError" and exited 1), exit 141."""
    done = _with_stdout_closed(*(a.format(scenario=data_dir / "tiny-my.json") for a in args))
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE


def test_a_broken_pipe_elsewhere_is_an_internal_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``BrokenPipeError`` while standard output is fine (a worker's pipe, a socket) is not
    taken for a closed stdout: one line, exit 1."""
    from api.commands import validate

    def broken(_: argparse.Namespace) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(validate, "run", broken)
    assert main(["validate", str(data_dir / "tiny-my.json")]) == 1
    assert "internal error: BrokenPipeError" in capsys.readouterr().err
