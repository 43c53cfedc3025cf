"""Result rows of the benchmark scripts: appended to a JSON list file (``--out``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to the JSON list in ``path`` (a new list when the file does not exist)."""
    old = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(old + rows, indent=1))
