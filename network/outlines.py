"""Country outlines for maps, from a packaged dataset (no network access, no tile server).

``network/data/countries-110m.geojson`` is Natural Earth's 1:110m admin-0 countries (public
domain) as packaged by the npm package ``world-atlas`` 2.0.2 (ISC licence, see
``LICENSE.world-atlas``), converted from TopoJSON to GeoJSON with ``topojson-client`` 3.1.0 (ISC)
and coordinates rounded to 0.01 degree by ``convert_world_atlas.js`` beside it (172 kB, 177
countries). The console's map and the CLI's ``map.png`` draw the same outlines.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["country_outlines", "outline_rings", "outlines_bytes"]


def outlines_bytes() -> bytes:
    """The GeoJSON file's bytes (served as is by the console)."""
    return resources.files("network").joinpath("data/countries-110m.geojson").read_bytes()


@lru_cache(maxsize=1)
def country_outlines() -> dict[str, Any]:
    """The countries as a GeoJSON FeatureCollection (``properties.name``; ``id`` ISO numeric).

    Examples
    --------
    >>> fc = country_outlines()
    >>> fc["type"], len(fc["features"]) > 150
    ('FeatureCollection', True)
    """
    return json.loads(outlines_bytes())  # type: ignore[no-any-return]


def outline_rings(
    bbox: tuple[float, float, float, float] | None = None,
) -> list[npt.NDArray[np.float64]]:
    """The outer rings of every country polygon as ``(n, 2)`` lon/lat arrays.

    Parameters
    ----------
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)``: keep only rings that overlap it.

    Examples
    --------
    >>> rings = outline_rings((100.0, 0.0, 110.0, 10.0))   # Malaysia, Thailand, ...
    >>> len(rings) > 2 and rings[0].shape[1] == 2
    True
    """
    out: list[npt.NDArray[np.float64]] = []
    for f in country_outlines()["features"]:
        g = f["geometry"]
        polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        for poly in polys:
            ring = np.asarray(poly[0], dtype=np.float64)
            if bbox is not None:
                lo, hi = ring.min(axis=0), ring.max(axis=0)
                if hi[0] < bbox[0] or lo[0] > bbox[2] or hi[1] < bbox[1] or lo[1] > bbox[3]:
                    continue
            out.append(ring)
    return out
