"""Property-based tests from the OpenAPI schema (schemathesis), every check (``--checks all``):
no request gives a 5xx, every response matches its documented schema, status code, media type
and headers, schema-invalid requests are refused and schema-valid ones accepted (or answered
with a documented 4xx, see ``tests/api/schemathesis.toml``).

The example count is bounded for CI (``TRADELANE_SCHEMATHESIS_EXAMPLES``, default 15 per
operation, 25 until the suite neared its 10-minute budget); ``benchmarks/schemathesis_run.py``
runs many more against a real server.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import GenerationMode, ParameterLocation

from api.main import create_app
from tests.api.conftest import auth, make_settings

EXAMPLES = int(os.environ.get("TRADELANE_SCHEMATHESIS_EXAMPLES", "15"))
_DB_DIR = tempfile.mkdtemp(prefix="tradelane-st-")
APP = create_app(make_settings(f"sqlite:///{Path(_DB_DIR) / 'st.db'}", routes_time_limit_s=0.5))
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
# Loaded from the ASGI app, so the checks' own probe requests (e.g. the same request without
# the key, for `ignored_auth`) reach it too.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", APP, config=SchemathesisConfig.from_path(str(CONFIG))
)
load_all_checks()
CHECKS = REGISTRY.get_all()  # `--checks all`


@pytest.fixture(scope="module")
def st_client() -> Iterator[TestClient]:
    """The app under test, started once (database migrated, job runner running)."""
    with TestClient(APP, raise_server_exceptions=False) as c:
        yield c


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_no_server_errors(case, st_client: TestClient) -> None:
    """Generated requests (valid and invalid) never get a 5xx and match the documented schema."""
    # A case whose headers are generated to break the schema (e.g. the required Authorization
    # left out) is sent as generated: adding the key back would make it a valid request that
    # the negative-data check then reports as "accepted".
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    negative_headers = headers is not None and headers.mode is GenerationMode.NEGATIVE
    kwargs = case.as_transport_kwargs(
        base_url="http://testserver", headers=None if negative_headers else auth()
    )
    kwargs.pop("cookies", None)
    # Generated header values may be non-ASCII: send their UTF-8 bytes, as a raw client would.
    kwargs["headers"] = {
        k: v.encode() if isinstance(v, str) and not v.isascii() else v
        for k, v in (kwargs.get("headers") or {}).items()
    }
    response = st_client.request(**kwargs)
    case.validate_response(response, checks=CHECKS, headers=auth())
