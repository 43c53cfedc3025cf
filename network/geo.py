"""Geography: vectorised geodesic distances and node tables as GeoDataFrames.

Distances are WGS84 geodesics (``pyproj.Geod.inv``, Karney's algorithm), computed on whole
arrays at once, never in a Python loop over pairs. ``haversine_km`` is the spherical shortcut
for large distance matrices (pyproj needs about 0.8 µs a pair: 3.0-3.6 s for 2,000 points;
``benchmarks/distances.py``).

>>> round(float(geodesic_km(1.3521, 103.8198, 3.1390, 101.6869)), 0)  # Singapore-Kuala Lumpur
309.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pyproj import Geod

if TYPE_CHECKING:
    import geopandas as gpd

    from network.scenario import Scenario

__all__ = ["geodesic_km", "haversine_km", "nodes_frame", "pairwise_km"]

_GEOD = Geod(ellps="WGS84")


def geodesic_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Geodesic distance in km between points (arrays broadcast against each other)."""
    a, b, c, d = np.broadcast_arrays(
        np.asarray(lat1, float),
        np.asarray(lon1, float),
        np.asarray(lat2, float),
        np.asarray(lon2, float),
    )
    _, _, dist_m = _GEOD.inv(b.ravel(), a.ravel(), d.ravel(), c.ravel())
    return (np.asarray(dist_m, float) / 1000.0).reshape(a.shape)


def pairwise_km(
    lat_a: npt.ArrayLike, lon_a: npt.ArrayLike, lat_b: npt.ArrayLike, lon_b: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Matrix of geodesic km, shape ``(len(a), len(b))``.

    >>> pairwise_km([0, 0], [0, 1], [0], [0]).round(1).tolist()
    [[0.0], [111.3]]
    """
    la = np.asarray(lat_a, float)[:, None]
    lo = np.asarray(lon_a, float)[:, None]
    lb = np.asarray(lat_b, float)[None, :]
    ob = np.asarray(lon_b, float)[None, :]
    return geodesic_km(la, lo, lb, ob)


def haversine_km(lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Square matrix of great-circle km between points, on a sphere of radius 6371.0088 km
    (the mean earth radius), vectorised.

    Notes
    -----
    15-26 times quicker than :func:`pairwise_km` on 200-2,000 points, and the two differ by
    at most 0.56 % near the equator (``benchmarks/distances.py``), less than a road detour
    factor's own uncertainty.

    >>> haversine_km([0, 0], [0, 1]).round(1).tolist()
    [[0.0, 111.2], [111.2, 0.0]]
    """
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlon / 2) ** 2
    out: npt.NDArray[np.float64] = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


def nodes_frame(scenario: Scenario) -> gpd.GeoDataFrame:
    """The scenario's nodes as a GeoDataFrame (EPSG:4326), one row per node."""
    import geopandas as gpd

    rows = [n.model_dump(by_alias=True, exclude_none=True) for n in scenario.nodes]
    lon = [n.lon for n in scenario.nodes]
    lat = [n.lat for n in scenario.nodes]
    return gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
