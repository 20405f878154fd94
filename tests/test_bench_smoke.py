"""Each benchmark runs in its CI-sized mode and prints one JSON object as its last line."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_sandbox_startup_smoke():
    out = subprocess.run([sys.executable, "bench/sandbox_startup.py", "--smoke"], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["bench"] == "sandbox_startup" and data["startup_ms_p50"] > 0


def test_search_smoke():
    out = subprocess.run([sys.executable, "bench/search.py", "--smoke"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    row = data["rows"][0]
    assert data["bench"] == "search" and row["hnsw_recall_at_10"] > 0.5 and row["cpu_flat_ms_p50"] > 0
