"""Schemas of the stored-network and forecast routes (``/v1/networks``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

__all__ = ["NetworkPublic", "NetworkSummary", "NetworkVersionPublic", "NetworksPublic"]

NetworkDocument = Annotated[
    dict[str, Any], WithJsonSchema({"allOf": [{"$ref": "#/components/schemas/Network"}]})
]


class NetworkVersionPublic(BaseModel):
    """One stored version of a network."""

    version: int
    created_at: dt.datetime
    sha256: str = Field(description="SHA-256 of the document (keys sorted).")


class NetworkSummary(BaseModel):
    """A network as listed: its name and latest version."""

    name: str
    version: int = Field(description="The latest version.")
    updated_at: dt.datetime


class NetworkPublic(BaseModel):
    """A stored network at one version, its size, and every version kept."""

    name: str
    version: int
    created_at: dt.datetime
    counts: dict[str, int] = Field(description="Nodes by kind, lanes, rate cards and SKUs.")
    versions: list[NetworkVersionPublic]
    document: NetworkDocument | None = Field(
        default=None, description="The document (on `GET /v1/networks/{name}` only)."
    )


class NetworksPublic(BaseModel):
    """One page of a tenant's networks, by name."""

    data: list[NetworkSummary]
    count: int
    limit: int
    offset: int
