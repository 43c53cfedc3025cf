"""Tests of the scenario generator (``network.generate``) and the bundled datasets."""

from __future__ import annotations

import json
import shlex
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from network.compile import NetworkData, compile_network
from network.generate import GeneratorError, generate_scenario, write_scenario
from network.regions import REGIONS, TIERS
from network.scenario import Scenario, load_scenario

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
BUNDLED = ("sea-72h", "eu-small", "me-small", "latam-small")


@cache
def _written(region: str, tier: str, seed: int, root: str) -> Path:
    out = Path(root) / f"{region}-{tier}-{seed}"
    write_scenario(generate_scenario(region, tier, seed), out)
    return out


@cache
def _compiled(path: str) -> tuple[Scenario, NetworkData]:
    s = load_scenario(path)
    return s, compile_network(s)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A module-wide scratch folder for generated scenarios."""
    return str(tmp_path_factory.mktemp("gen"))


def _best_hours(data: NetworkData) -> np.ndarray:
    """Fastest option hours per zone over outbound (any warehouse) and direct options."""
    best = np.full(len(data.zones), np.inf)
    np.minimum.at(best, data.outbound.dst, data.outbound.hours)
    np.minimum.at(best, data.direct.dst, data.direct.hours)
    return best


# -- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    """Generating twice with the same region, tier and seed writes byte-identical files."""
    a = tmp_path / "a"
    b = tmp_path / "b"
    write_scenario(generate_scenario("sea", "S", 7), a)
    write_scenario(generate_scenario("sea", "S", 7), b)
    for name in ("network.json", "demand.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    """A different seed changes the SKUs and the demand (the geography stays the same)."""
    write_scenario(generate_scenario("sea", "S", 7), tmp_path / "a")
    write_scenario(generate_scenario("sea", "S", 8, name="sea-s-7"), tmp_path / "b")
    assert (tmp_path / "a/network.json").read_bytes() != (tmp_path / "b/network.json").read_bytes()
    assert (tmp_path / "a/demand.csv").read_bytes() != (tmp_path / "b/demand.csv").read_bytes()
    na = json.loads((tmp_path / "a/network.json").read_text())
    nb = json.loads((tmp_path / "b/network.json").read_text())
    assert [n["id"] for n in na["nodes"]] == [n["id"] for n in nb["nodes"]]


def test_generator_json_records_hashes_of_written_files(tmp_path: Path) -> None:
    """``generator.json`` holds the SHA-256 of the two scenario files and the command."""
    import hashlib

    write_scenario(generate_scenario("me", "S", 2), tmp_path)
    meta = json.loads((tmp_path / "generator.json").read_text())
    for name in ("network.json", "demand.csv"):
        assert meta["sha256"][name] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    assert meta["command"] == "tradelane generate --region me --tier S --seed 2 --out DIR"


# -- every region loads, compiles and is sensible -------------------------------------------


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_tier_s_loads_compiles_and_reaches_every_zone(region: str, root: str) -> None:
    """Tier S of each region passes the loader, compiles, and no zone is unreachable."""
    path = _written(region, "S", 1, root)
    s, data = _compiled(str(path))
    assert len(s.skus) == TIERS["S"].skus
    assert data.unreachable_zones() == []
    assert not data.truncated
    meta = json.loads((path / "generator.json").read_text())
    for country, zone in meta["core_zones"].items():
        assert zone in data.zones, country
        assert s.node(zone).country == country


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_service_target_is_achievable_on_compiled_network(region: str, root: str) -> None:
    """The on-time targets can be met: demand in zones with an option within the promise
    (checked on the compiled Pareto options, not the generator's own estimate) reaches the
    scenario-wide and every per-country target."""
    s, data = _compiled(str(_written(region, "S", 1, root)))
    ok = _best_hours(data) <= s.service.promise_hours
    units = np.bincount(data.dem_zone, weights=data.dem_units, minlength=len(data.zones))
    assert units[ok].sum() / units.sum() >= s.service.min_on_time_share
    country = np.array(data.zone_country)
    for c, share in s.service.min_on_time_share_by_country.items():
        m = country == c
        assert units[m & ok].sum() / units[m].sum() >= share, c


def test_sea_has_bonded_singapore_hub_serving_neighbours(root: str) -> None:
    """SEA: Singapore warehouses are bonded; cards let them deliver into MY with duty."""
    s, _ = _compiled(str(_written("sea", "S", 1, root)))
    sg = [w for w in s.nodes_of("warehouse") if w.country == "SG"]
    assert sg and all(w.bonded for w in sg)
    xb = [c for c in s.rate_cards if c.country == "MY" and "SG" in c.from_countries]
    assert xb and xb[0].duty_rate is not None and xb[0].duty_rate > 0
    assert {z.country for z in s.nodes_of("zone")} == {"SG", "MY", "TH", "ID", "VN", "PH"}


def test_me_uae_hub_serves_gcc_through_cards(root: str) -> None:
    """ME: the UAE hub is bonded and every GCC neighbour has a card from AE."""
    s, data = _compiled(str(_written("me", "S", 1, root)))
    assert any(w.bonded and w.country == "AE" for w in s.nodes_of("warehouse"))
    served = {c.country for c in s.rate_cards if "AE" in c.from_countries}
    assert served == {"SA", "QA", "KW", "BH", "OM"}
    # the hub's outbound options reach a neighbour's zones
    hub = [i for i, w in enumerate(data.warehouses) if s.node(w).bonded]
    dst = {data.zone_country[z] for z in data.outbound.dst[np.isin(data.outbound.src, hub)]}
    assert {"SA", "KW"} <= dst


def test_figures_are_sane(root: str) -> None:
    """Clearance hours (8 h pre-reviewed), positive SKU sizes and values, duty in [0, 1],
    all four categories, integer positive demand, sparse demand."""
    s, _ = _compiled(str(_written("sea", "S", 1, root)))
    customs = [ln for ln in s.lanes if ln.mode == "customs"]
    pre = [ln for ln in customs if ln.id.endswith("-pre")]
    assert pre and all(ln.clearance_hours == 8.0 for ln in pre)
    assert all(ln.clearance_hours > 8.0 for ln in customs if ln.id.endswith("-std"))
    assert all(k.weight_kg > 0 and k.volume_m3 > 0 and k.value > 0 for k in s.skus)
    assert all(0 <= r <= 1 for k in s.skus for r in k.duty_rates.values())
    assert all(0 < k.demand_cv < 3 for k in s.skus)
    assert all(d.units >= 1 and d.units == int(d.units) for d in s.demand)
    zones = len(s.nodes_of("zone"))
    assert len(s.demand) < len(s.skus) * zones  # not every SKU in every zone
    x72 = [ln for ln in s.lanes if ln.carrier == "72h line"]
    assert x72 and all(ln.clearance_hours == 8.0 and ln.duty_rate is not None for ln in x72)
    post = [ln for ln in s.lanes if ln.carrier == "postal economy"]
    # door to door 15-30 days [DOMAIN 001 §2.5]: lane hours plus origin handling
    handling = {o.id: o.handling_hours for o in s.nodes_of("origin")}
    door = [ln.hours + handling[ln.from_] for ln in post]
    assert min(door) >= 13 * 24 and max(door) <= 31 * 24


def test_direct_72h_line_hits_promise_for_some_zones_only(root: str) -> None:
    """Some 72h-line lanes are on time door to door (origin handling included), many not."""
    _, data = _compiled(str(_written("sea", "S", 1, root)))
    fast = data.direct.hours <= data.service.promise_hours
    assert 0 < fast.sum() < len(fast) / 2


# -- bundled datasets -----------------------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_dataset_regenerates_byte_identically(name: str, tmp_path: Path) -> None:
    """Running the command recorded in ``generator.json`` rebuilds the bundled files."""
    meta = json.loads((DATASETS / name / "generator.json").read_text())
    argv = shlex.split(meta["command"].replace("DIR", str(tmp_path / "out")))
    assert argv[0] == "tradelane"
    assert main(argv[1:]) == 0
    for f in ("network.json", "demand.csv"):
        assert (tmp_path / "out" / f).read_bytes() == (DATASETS / name / f).read_bytes(), (
            f"{name}/{f} differs from a fresh run of {meta['command']!r} "
            f"(bundled with {meta['versions']})"
        )


def test_sea_72h_is_the_default_size_and_feasible() -> None:
    """sea-72h: 28-32 candidate warehouses [DOMAIN §1.4], 150+ zones, 300 SKUs; each country's
    warehouse throughput covers its demand; every core city has a warehouse option within
    72 h; some remote zone has none."""
    path = DATASETS / "sea-72h"
    s, data = _compiled(str(path))
    assert s.name == "sea-72h"
    assert 28 <= len(data.warehouses) <= 32
    assert len(data.zones) >= 150
    assert len(data.skus) == 300
    assert data.unreachable_zones() == []
    country = np.array(data.zone_country)
    units = np.bincount(data.dem_zone, weights=data.dem_units, minlength=len(data.zones))
    wc = np.array([s.node(w).country for w in data.warehouses])
    for c in set(country):
        assert data.wh_throughput_per_day[wc == c].sum() >= units[country == c].sum() / 28, c
    best_wh = np.full(len(data.zones), np.inf)
    np.minimum.at(best_wh, data.outbound.dst, data.outbound.hours)
    meta = json.loads((path / "generator.json").read_text())
    for c, z in meta["core_zones"].items():
        assert best_wh[data.zones.index(z)] <= 72.0, (c, z)
    assert np.any(best_wh > 72.0)
    assert np.any(_best_hours(data) > 240.0)  # remote: 10+ days [DOMAIN §2.3]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_dataset_validates_with_cli(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``tradelane validate datasets/NAME`` exits 0 and reports no unreachable zones."""
    assert main(["validate", str(DATASETS / name)]) == 0
    assert "unreachable zones: 0" in capsys.readouterr().out


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--region", "mars", "--tier", "S"], "unknown region 'mars'"),  # no such region
        (["--region", "sea", "--tier", "XXL"], "unknown tier 'XXL'"),  # no such tier
        (["--region", "sea", "--tier", "S", "--seed", "-1"], "seed"),  # negative seed
        (["--tier", "S"], "--region is required"),  # region missing
    ],
)
def test_cli_bad_input_exits_2(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad ``generate`` arguments exit 2 with a one-line error naming the item."""
    assert main(["generate", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_out_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--out`` naming an existing file (not a folder) exits 2."""
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["generate", "--region", "sea", "--out", str(f)]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_cli_seed_not_a_number_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A non-integer seed is rejected by the parser with exit status 2."""
    with pytest.raises(SystemExit) as e:
        main(["generate", "--region", "sea", "--seed", "abc", "--out", "x"])
    assert e.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_cli_list_regions(capsys: pytest.CaptureFixture[str]) -> None:
    """``--list-regions`` lists every region and tier and exits 0."""
    assert main(["generate", "--list-regions"]) == 0
    out = capsys.readouterr().out
    for r in REGIONS:
        assert f"  {r}" in out
    assert "100,000 SKUs" in out


def test_generator_error_names_item() -> None:
    """The library raises ``GeneratorError`` (a ValueError) naming the bad tier."""
    with pytest.raises(GeneratorError, match="'Q'"):
        generate_scenario("sea", "Q", 1)
    with pytest.raises(ValueError, match="region 'SEA'"):
        generate_scenario("SEA", "S", 1)


def test_tier_m_size_and_case_insensitive_tier() -> None:
    """Tier names are case-insensitive; tier M has 300 SKUs and all warehouse sites."""
    g = generate_scenario("me", "m", 1)
    assert g.meta["tier"] == "M"
    assert len(g.document["skus"]) == 300
    assert g.meta["counts"]["warehouses"] == len(REGIONS["me"].warehouses)


@pytest.mark.slow
def test_tier_l_generates_10000_skus(tmp_path: Path) -> None:
    """Tier L (sea) builds 10,000 SKUs, about 200 zones and the full warehouse set, and
    writes a demand CSV whose data rows match the generated demand (no timing asserted:
    timings live in the report)."""
    g = generate_scenario("sea", "L", 1)
    assert len(g.document["skus"]) == 10_000
    assert g.meta["counts"]["zones"] == REGIONS["sea"].zones["L"]
    write_scenario(g, tmp_path)
    with open(tmp_path / "demand.csv", encoding="utf-8") as fh:
        rows = sum(1 for _ in fh) - 1
    assert rows == len(g.demand_units) == g.meta["counts"]["demand_rows"]
