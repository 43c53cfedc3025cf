"""A malformed instance file is bad input: exit 2 naming the file, before any solve."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api.cli import main


@pytest.mark.parametrize(
    "family, good, bad_name, bad_text, message",
    [
        # not VRPLIB at all
        ("cvrplib", "cvrplib/E-n22-k4.vrp", "X-n9-k1.vrp", "garbage\n", "X-n9-k1.vrp: not a"),
        # a capNN file cut after its header and one warehouse
        ("cflp", "cflp/cap01.txt", "cap99.txt", "3 4\n10 5\n", "cap99.txt: truncated"),
        # a Solomon file without its customer table
        ("solomon", "solomon/C101-12.txt", "R999.txt", "R999\n\nVEHICLE\n", "R999.txt"),
    ],
)
def test_a_malformed_instance_exits_2_naming_it_before_any_solve(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    family: str,
    good: str,
    bad_name: str,
    bad_text: str,
    message: str,
) -> None:
    """Beside a good instance, a malformed one was read only by its solves: an ``error`` row
    per configuration and seed, exit 0, found when the run reached it."""
    folder = tmp_path / "inst"
    folder.mkdir()
    shutil.copy(data_dir / "bench" / good, folder)
    (folder / bad_name).write_text(bad_text)
    out = tmp_path / "r.json"
    args = ["bench", "--family", family, "--instances", str(folder), "--time-limit", "1"]
    code = main([*args, "--no-peers", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()  # nothing solved
