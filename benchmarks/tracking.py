"""Logging speed: one full training run logged to MLflow.

Targets (issue 7): logging a full run (params, ~50 metrics, 5 plots, the model) takes under 3 s to the
embedded SQLite store and under 5 s to a local tracking server (`mlflow server` on 127.0.0.1, SQLite
backend here; the tests run it on PostgreSQL). What is timed is `bundle.upload` of one bundle: the
parent run (params, metrics, tags in batches, the artifacts), the nested candidate run, the pyfunc model
and its registration and promotion. The bundle is computed once (CO2, seasonal ARIMA) and uploaded
three times to each store; the median is reported. Run: `.venv/bin/python benchmarks/tracking.py`.
"""

import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from forecast_nb.config import TrainConfig
from forecast_nb.data import load
from forecast_nb.split import chrono_split
from forecast_nb.pipeline import feature_step
from forecast_nb.selection import select_step, test_step
from forecast_nb.bundle import Bundle, upload, write_bundle
from forecast_nb.registry import Gate
from common import timed, report


def bundle(folder: Path, uri: str) -> Bundle:
    cfg = TrainConfig(
        data="sample:CO2",
        val_size=24,
        test_size=24,
        horizon=12,
        model="arima",
        tracking_uri=uri,
        model_params={"order": (1, 1, 1), "seasonal_order": (0, 1, 1, 12)},
    )
    df = load(cfg.data)
    sp = chrono_split(df, val=cfg.val_size, test=cfg.test_size)
    sel = select_step(cfg, df, sp, Gate())
    return write_bundle(
        folder, cfg, df, sp, feature_step(cfg, df, sp), sel, test_step(cfg, df, sp, sel.best.name, sel.best.params)
    )


def server(root: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root}/server.db",
            "--artifacts-destination",
            str(root / "art"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("mlflow server did not start")


def main(repeat=3):
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        proc, http = server(d)
        try:
            rows, counts = [], None
            for label, uri, target in (
                ("SQLite store (sqlite:///mlflow.db)", f"sqlite:///{d}/mlflow.db", 3.0),
                ("local tracking server (HTTP)", http, 5.0),
            ):
                b = bundle(d / "bundle", uri)
                man = b.manifest
                counts = (
                    len(man["params"]),
                    len(man["metrics"]),
                    sum(len(v) for v in man["windows"].values()),
                    len(list(b.folder.glob("artifacts/**/*.png"))),
                )
                upload(b)  # warm: imports, experiment and registered model created
                times = [timed(lambda: upload(b))[0] for _ in range(repeat)]
                rows.append((f"full run to the {label}", statistics.median(times), target))
                shutil.rmtree(b.folder)
        finally:
            proc.terminate()
            proc.wait(30)
    print(
        f"one run: {counts[0]} params, {counts[1]} metrics (+{counts[2]} per-window values), {counts[3]} plots, "
        "the pyfunc model, registration and promotion"
    )
    return report(rows, width=50)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
