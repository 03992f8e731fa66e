"""Workflow speed: papermill's overhead on a training run, and a batch of 12 runs on 1 and 2 local workers.

Targets (issue 8), measured side by side in one run:
- papermill overhead (kernel start, parameter injection, saving the notebook, logging it) for an ARIMA
  training notebook under 8 s beyond the pipeline's own time in a fresh process (`run_training` in a new
  Python process pays the same imports as the kernel does), with no TensorFlow import on that run. The time
  beyond a warm, in-process `run_training` (imports and first-use costs included) is reported beside it;
- a batch of 12 ARIMA runs with `--jobs 2` at least 1.6x faster than with `--jobs 1`.
Run: `.venv/bin/python benchmarks/workflow.py` (exit status 1 when a target is missed).
"""

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from forecast_nb.config import TrainConfig
from forecast_nb.pipeline import run_training
from forecast_nb.runner import train
from forecast_nb.batch import expand, run_batch
from common import timed, report


def config(d, **kw):
    return TrainConfig(
        **(
            {
                "data": "sample:AAPL",
                "model": "arima",
                "model_params": {"order": [1, 1, 1]},
                "features": {"lags": [0]},
                "tracking_uri": f"sqlite:///{d}/mlflow.db",
            }
            | kw
        )
    )


def main():
    with tempfile.TemporaryDirectory() as d:
        os.environ["FORECAST_NB_RUNS"] = d
        cfg = config(d)
        run_training(cfg)  # warm: imports, store, registered model
        t_api = statistics.median(timed(lambda: run_training(cfg))[0] for _ in range(2))
        code = (
            "from forecast_nb.config import TrainConfig; from forecast_nb.pipeline import run_training; "
            f"run_training(TrainConfig(**{cfg.to_dict()!r}))"
        )
        t_fresh = statistics.median(
            timed(lambda: subprocess.run([sys.executable, "-c", code], check=True, capture_output=True))[0]
            for _ in range(2)
        )
        runs = [timed(lambda: train(cfg, progress=False)) for _ in range(2)]
        t_nb = statistics.median(t for t, _ in runs)
        heavy = runs[0][1]["heavy_modules"]
        spec = {
            "defaults": config(d, register=False).to_dict(),
            "grid": {
                "data": ["sample:AAPL", "sample:MSFT", "sample:IBM", "sample:GOOG"],
                "model_params": [{"order": [1, 1, 1]}, {"order": [0, 1, 1]}, {"order": [1, 1, 0]}],
            },
        }
        items = expand(spec)
        items = items if "--quick" not in sys.argv else items[:4]  # --quick: 4 items, for a fast check
        t_one, table = timed(lambda: run_batch(items, Path(d) / "b1", jobs=1, progress=False))
        t_two, table2 = timed(lambda: run_batch(items, Path(d) / "b2", jobs=2, progress=False))
        assert (table["status"] == "FINISHED").all() and (table2["status"] == "FINISHED").all(), table[
            ["series", "status", "error"]
        ]
    print(
        f"ARIMA(1,1,1) training run on sample:AAPL: in-process (warm) {t_api:.1f} s, fresh process {t_fresh:.1f} s, "
        f"through papermill {t_nb:.1f} s "
        f"(TensorFlow imported in the kernel: {bool(heavy)})"
    )
    ok = report(
        [
            ("papermill overhead beyond a fresh-process run", t_nb - t_fresh, 8.0),
            ("papermill beyond a warm in-process run (imports incl.)", t_nb - t_api, None),
            ("batch of 12 ARIMA runs, --jobs 1", t_one, None),
            ("batch of 12 ARIMA runs, --jobs 2", t_two, t_one / 1.6),
        ],
        width=46,
    )
    print(f"--jobs 2 speed-up {t_one / t_two:.2f}x (target >= 1.6x)")
    return ok and not heavy


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
