"""The import-layering contract (``[tool.importlinter]`` in pyproject.toml) holds, and it fails on
an upward import or an import cycle: a scratch package with each fault is checked by the same
contract types."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"


def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT, "--no-cache", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_repository_keeps_its_contracts() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def _scratch(tmp: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    low\n    high\n\n"
        "[importlinter:contract:layers]\nname = layers\ntype = layers\n"
        "layers =\n    high\n    low\n\n"
        "[importlinter:contract:cycles]\nname = cycles\ntype = acyclic_siblings\n"
        "ancestors =\n    low\n    high\n"
    )
    return tmp


@pytest.mark.parametrize(
    ("files", "broken"),
    [
        (  # a lower layer importing a higher one
            {
                "low/__init__.py": "",
                "low/a.py": "import high.b\n",
                "high/__init__.py": "",
                "high/b.py": "",
            },
            "layers BROKEN",
        ),
        (  # a cycle hidden behind a function-level import
            {
                "low/__init__.py": "",
                "low/a.py": "from low import b\n",
                "low/b.py": "def f():\n    from low import a\n    return a\n",
                "high/__init__.py": "",
            },
            "cycles BROKEN",
        ),
    ],
)
def test_the_contract_types_catch_upward_imports_and_cycles(
    tmp_path: Path, files: dict[str, str], broken: str
) -> None:
    r = _lint(_scratch(tmp_path, files), "--config", str(tmp_path / ".importlinter"))
    assert r.returncode != 0
    assert broken in r.stdout, r.stdout
