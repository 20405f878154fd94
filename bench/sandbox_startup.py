"""Per-run start-up overhead of the code-demo sandbox: ``python bench/sandbox_startup.py [--runs N] [--smoke]``.

Times ``run_python("pass")`` end to end (temp dir, namespaces, uid switch, interpreter start,
audit hook, result collection), and a numpy+matplotlib import for comparison. Last line: JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.sandbox import isolation_layers, run_python  # noqa: E402
from bench.common import percentile, report  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--smoke", action="store_true", help="3 runs, results not saved")
    args = p.parse_args(argv)
    runs = 3 if args.smoke else args.runs
    run_python("pass")  # warm-up: builds the matplotlib font cache once
    bare = [run_python("pass").duration_s for _ in range(runs)]
    plot = [run_python("import numpy, matplotlib.pyplot").duration_s for _ in range(max(1, runs // 5))]
    result = {
        "runs": runs,
        "isolation": isolation_layers(),
        "startup_ms_p50": round(1000 * percentile(bare, 50), 1),
        "startup_ms_p95": round(1000 * percentile(bare, 95), 1),
        "numpy_matplotlib_ms_p50": round(1000 * percentile(plot, 50), 1),
    }
    report("sandbox_startup", result, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
