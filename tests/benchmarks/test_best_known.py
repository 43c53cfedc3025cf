"""Best-known values: looked up for the right instance, under the right objective and distance
convention. Every figure here is recomputed with plain numpy from the instance text, not with
the harness's readers or evaluator."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.suite.families import cvrplib, homberger, solomon


@pytest.fixture(scope="module")
def bench_data(data_dir: Path) -> Path:
    return data_dir / "bench"


def _solomon_xy(path: Path) -> np.ndarray:
    """Coordinates of a Solomon file: the rows after the column header, columns 2-3."""
    lines = path.read_text().splitlines()
    head = max(i for i, ln in enumerate(lines) if ln.strip().upper().startswith("CUST"))
    rows = [ln.split() for ln in lines[head + 1 :] if ln.split()]
    return np.array([[float(r[1]), float(r[2])] for r in rows])


def _vrplib_xy(path: Path) -> np.ndarray:
    text = path.read_text().split("NODE_COORD_SECTION")[1].split("DEMAND_SECTION")[0]
    return np.array([[float(v) for v in ln.split()[1:3]] for ln in text.strip().splitlines()])


def test_cvrplib_classic_instances_find_the_bks_two_folders_up(
    bench_data: Path, tmp_path: Path
) -> None:
    """The CVRPLIB folder keeps ``classic/E/E-n22-k4.vrp`` under one ``bks.csv`` at its top
    (``X/*.vrp`` is one level down, the classic sets two): both must find their value."""
    root = tmp_path / "cvrplib"
    (root / "classic" / "E").mkdir(parents=True)
    (root / "X").mkdir()
    src = bench_data / "cvrplib" / "E-n22-k4.vrp"
    shutil.copy(src, root / "classic" / "E" / src.name)
    shutil.copy(src, root / "X" / "X-n22-k4.vrp")
    (root / "bks.csv").write_text(
        "instance,bks_value,optimal,source,set,file\n"
        "E-n22-k4,375,yes,test,E,classic/E/E-n22-k4.vrp\n"
        "X-n22-k4,375,yes,test,X,X/X-n22-k4.vrp\n"
    )
    fam = cvrplib()
    assert fam.best_known(root / "X" / "X-n22-k4.vrp") == 375.0
    assert fam.best_known(root / "classic" / "E" / "E-n22-k4.vrp") == 375.0


def test_a_bks_row_for_another_file_of_the_same_name_is_not_used(tmp_path: Path) -> None:
    """When the table says which file a value belongs to, a file elsewhere with the same stem
    but another name (suffix) does not take it."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "E-n22-k4.txt").write_text("")
    (tmp_path / "bks.csv").write_text(
        "instance,bks_value,optimal,source,set,file\nE-n22-k4,375,yes,test,E,E/E-n22-k4.vrp\n"
    )
    from benchmarks.suite.spec import bks_lookup

    assert bks_lookup(tmp_path / "sub" / "E-n22-k4.txt", ("bks.csv",)) is None


def test_bks_name_match_ignores_case(bench_data: Path, tmp_path: Path) -> None:
    """``c101-12.txt`` (lower case, as some copies spell Solomon names) finds ``C101-12``."""
    shutil.copy(bench_data / "solomon" / "C101-12.txt", tmp_path / "c101-12.txt")
    shutil.copy(bench_data / "solomon" / "bks_distance.csv", tmp_path / "bks_distance.csv")
    assert solomon().best_known(tmp_path / "c101-12.txt") == 128.0


def test_homberger_distance_is_never_compared_with_a_hierarchical_bks(
    bench_data: Path, tmp_path: Path
) -> None:
    """The G&H ``bks.csv`` is vehicles-first (its ``objective`` column says so); our solvers
    and PyVRP minimise distance only, so a distance compared with it gives meaningless
    negative gaps (r2_2_1 at 2 s: OR-Tools -4.83 % with 6 vehicles, PyVRP -20.05 % with 12,
    against 4 vehicles / 4483.16). No value of another objective is a best-known value."""
    shutil.copy(bench_data / "solomon" / "C101-12.txt", tmp_path / "c1_2_1.txt")
    (tmp_path / "bks.csv").write_text(
        "instance,bks_value,optimal,source,vehicles,objective,note\n"
        "c1_2_1,2704.5678,no,test,20,hierarchical_min_vehicles_then_distance_double,\n"
    )
    assert homberger().best_known(tmp_path / "c1_2_1.txt") is None
    # Solomon: the distance-only table is used; a hierarchical row is refused there too
    shutil.copy(bench_data / "solomon" / "C101-12.txt", tmp_path / "C101-12.txt")
    (tmp_path / "bks_distance.csv").write_text(
        "instance,bks_value,optimal,source,vehicles,objective,note\n"
        "C101-12,128.0,no,test,2,distance_only_trunc1,\n"
    )
    assert solomon().best_known(tmp_path / "C101-12.txt") == 128.0
    (tmp_path / "bks_distance.csv").write_text(
        "instance,bks_value,optimal,source,vehicles,objective,note\n"
        "C101-12,120.0,no,test,2,hierarchical_min_vehicles_then_distance_double,\n"
    )
    assert solomon().best_known(tmp_path / "C101-12.txt") is None
