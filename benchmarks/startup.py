"""What a user waits for before anything happens (issue 20): `import forecast_nb` and `forecast-nb --help`.

Targets: `import forecast_nb` under 0.3 s and `forecast-nb --help` under 0.5 s, each a fresh process (the median of
five), beside a bare `python -c pass` (the interpreter's own start, the floor) in the same run. Heavy imports
(pandas, MLflow, TensorFlow, statsmodels) stay inside the functions that need them; `python -X importtime` shows
what a regression pulls in.
Run: `.venv/bin/python benchmarks/startup.py` (exit status 1 when a target is missed).
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import report

BIN = Path(sys.executable).parent


def seconds(cmd: list, repeats: int = 5) -> float:
    "Median wall seconds of a fresh process running `cmd`."
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> bool:
    seconds([sys.executable, "-c", "import forecast_nb.cli"], 1)  # warm the file cache and the bytecode
    floor = seconds([sys.executable, "-c", "pass"])
    return report(
        [
            ("python -c pass (the interpreter alone)", floor, None),
            ("python -c 'import forecast_nb'", seconds([sys.executable, "-c", "import forecast_nb"]), 0.3),
            ("forecast-nb --help", seconds([str(BIN / "forecast-nb"), "--help"]), 0.5),
        ]
    )


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
