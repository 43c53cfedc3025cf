"""Schemathesis against a real ``tradelane serve`` on loopback, with many more examples than CI.

Starts the server (temporary SQLite database; the job solver is the test suite's fast fake so
the run exercises the HTTP layer, not the optimiser), runs the ``schemathesis`` CLI with
``--checks all`` (no 5xx, responses as documented, schema-invalid requests refused, valid ones
accepted or answered with a documented 4xx, see ``tests/api/schemathesis.toml``), and prints
its summary plus the number of 5xx responses found in the server log.

Usage::

    python benchmarks/schemathesis_run.py --max-examples 200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.load import HEADERS, Server

CONFIG = Path(__file__).resolve().parents[1] / "tests" / "api" / "schemathesis.toml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--max-examples", type=int, default=200, help="examples per operation (default 200)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800, help="overall bound, seconds")
    args = ap.parse_args(argv)
    if not 1 <= args.max_examples <= 10_000:
        print("error: --max-examples must be in 1..10000", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="tradelane-st-"))
    server = Server(
        f"sqlite:///{tmp / 'st.db'}",
        tmp / "server.log",
        "tests.api.solvers:fake_plan",
        max_attempts=3,
    )
    server.env["TRADELANE_ROUTES_TIME_LIMIT_S"] = "0.5"
    st = Path(sys.executable).parent / "schemathesis"
    t0 = time.monotonic()
    try:
        server.start()
        cmd = [
            str(st),
            "--config-file",
            str(CONFIG),
            "run",
            f"{server.url}/openapi.json",
            # all checks but use_after_free: DELETE cancels a job, which stays readable
            # (DESIGN §8; see tests/api/schemathesis.toml)
            "--checks",
            "all",
            "--exclude-checks",
            "use_after_free",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--workers",
            "1",
            "--suppress-health-check",
            "all",
            "-H",
            f"Authorization: {HEADERS['Authorization']}",
            "--no-color",
        ]
        r = subprocess.run(
            cmd,
            check=False,
            cwd=tmp,
            timeout=args.timeout,
            text=True,
            capture_output=True,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )
    finally:
        server.stop()
    out = r.stdout.replace(HEADERS["Authorization"].split()[1], "[key]")
    print(out[-6000:])
    log = (tmp / "server.log").read_text(errors="replace")
    five = sum(1 for line in log.splitlines() if "internal error on" in line)
    print(
        f"schemathesis exit code {r.returncode}; {five} internal-error (500) log line(s); "
        f"{args.max_examples} max examples per operation; {time.monotonic() - t0:.0f} s "
        "wall (shared machine)"
    )
    return 0 if r.returncode == 0 and five == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
