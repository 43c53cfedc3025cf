"""Index arrays in the narrowest exact dtype, and keys formed from them without overflow.

Demand rows and the allocation model's columns refer to SKUs, zones, warehouses, options and
pairs by index. Millions of such indices fit ``int32`` (or ``int16`` for a few thousand
entities) at a half or a quarter of the memory of ``int64``. The catch is arithmetic: numpy
keeps the narrow dtype through ``sku * n_zones + zone`` and wraps silently on overflow, so every
*key* formed from index arrays goes through :func:`flat_key`, which computes in ``int64``.

>>> import numpy as np
>>> index_dtype(300), index_dtype(40_000), index_dtype(3_000_000_000)
(dtype('int16'), dtype('int32'), dtype('int64'))
>>> a = as_index(np.array([20_000, 1]), 30_000)
>>> a.dtype, flat_key(a, 30_000, a).tolist()
(dtype('int16'), [600020000, 30001])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["Index", "as_index", "flat_key", "index_dtype"]

#: An array of indices in one of the dtypes :func:`index_dtype` chooses (int16, int32 or
#: int64). Typed as any-width signed integers so that it passes where ``NDArray[int64]`` is
#: expected for indexing; arithmetic on it must go through :func:`flat_key`.
Index = npt.NDArray[np.signedinteger]


IndexDType = np.dtype[np.int16] | np.dtype[np.int32] | np.dtype[np.int64]
Floor = type[np.int16] | type[np.int32] | type[np.int64]
_STEPS: tuple[IndexDType, ...] = (np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.int64))


def index_dtype(n: int, *, floor: Floor = np.int16) -> IndexDType:
    """The narrowest signed dtype (from ``floor`` up: int16, int32, int64) holding ``-n..n``.

    Holding ``n`` itself (not only ``n - 1``) keeps ``idx + 1`` and ``-1`` sentinels exact.
    """
    fl = np.dtype(floor)
    for dt in _STEPS:
        if dt.itemsize >= fl.itemsize and n <= np.iinfo(dt).max:
            return dt
    raise OverflowError(f"{n} indices do not fit int64")


def as_index(a: npt.ArrayLike, n: int, *, floor: Floor = np.int16) -> Index:
    """``a`` (values in ``-n..n``) as an array of :func:`index_dtype` ``(n)`` (no copy if it
    already is)."""
    arr = np.asarray(a)
    dt = index_dtype(n, floor=floor)
    if dt == np.int16:
        return arr.astype(np.int16, copy=False)
    if dt == np.int32:
        return arr.astype(np.int32, copy=False)
    return arr.astype(np.int64, copy=False)


def flat_key(major: npt.ArrayLike, width: int, minor: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``major * width + minor`` computed in int64 (never wraps for narrow index arrays)."""
    return np.asarray(major, dtype=np.int64) * np.int64(width) + np.asarray(minor, dtype=np.int64)
