"""Narrow index arrays: the chosen dtype holds the range, keys never wrap, demand is narrowed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from network.compile import compile_network
from network.indices import as_index, flat_key, index_dtype
from network.scenario import load_scenario
from tests.helpers import ROOT


@pytest.mark.parametrize(
    ("n", "dtype"),
    [
        (0, np.int16),
        (32_767, np.int16),
        (32_768, np.int32),
        (2**31 - 1, np.int32),
        (2**31, np.int64),
    ],
)
def test_index_dtype_boundaries(n: int, dtype: type) -> None:
    """The narrowest of int16/int32/int64 that holds ``n`` itself (so ``i + 1`` stays exact)."""
    assert index_dtype(n) == np.dtype(dtype)
    assert np.iinfo(index_dtype(n)).max >= n


def test_index_dtype_floor_and_overflow() -> None:
    """A floor keeps a wider dtype; more than int64 can hold is an error, not a wrap."""
    assert index_dtype(5, floor=np.int32) == np.dtype(np.int32)
    assert index_dtype(5, floor=np.int64) == np.dtype(np.int64)
    with pytest.raises(OverflowError):
        index_dtype(2**63)


def test_as_index_keeps_values_and_does_not_copy_narrow_arrays() -> None:
    """Values (and -1 sentinels) survive; an array already narrow is returned as it is."""
    a = np.array([-1, 0, 7, 32_767], np.int64)
    b = as_index(a, 32_767)
    assert b.dtype == np.int16
    assert b.tolist() == a.tolist()
    assert as_index(b, 100) is b


@given(st.lists(st.tuples(st.integers(0, 32_767), st.integers(0, 32_766)), min_size=1, max_size=50))
def test_flat_key_never_wraps(pairs: list[tuple[int, int]]) -> None:
    """``major * width + minor`` from int16 arrays equals Python's exact integer arithmetic
    (numpy would keep int16 and wrap without :func:`flat_key`)."""
    major = np.array([p[0] for p in pairs], np.int16)
    minor = np.array([p[1] for p in pairs], np.int16)
    width = 32_767
    got = flat_key(major, width, minor)
    assert got.dtype == np.int64
    assert got.tolist() == [a * width + b for a, b in pairs]


def test_compiled_demand_is_narrow_and_exact() -> None:
    """Compiled demand indices take the narrowest exact dtype and still name the same rows;
    a NetworkData built from int64 arrays (as the block code does) is narrowed too."""
    s = load_scenario(ROOT / "datasets" / "sea-72h")
    data = compile_network(s)
    assert data.dem_sku.dtype == index_dtype(len(data.skus))
    assert data.dem_zone.dtype == index_dtype(len(data.zones))
    assert data.dem_units.dtype == np.float64
    assert [data.skus[k] for k in data.dem_sku.tolist()] == list(s.demand.sku)
    assert [data.zones[z] for z in data.dem_zone.tolist()] == list(s.demand.zone)
    wide = replace(data, dem_sku=data.dem_sku.astype(np.int64))
    assert wide.dem_sku.dtype == data.dem_sku.dtype
    assert np.array_equal(wide.dem_sku, data.dem_sku)
