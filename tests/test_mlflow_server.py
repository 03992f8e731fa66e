"""The workflow against a real `mlflow server` on PostgreSQL, through HTTP: logging, registering, aliases,
loading by alias, `mlflow models serve`, an unreachable server (fail fast, keep the run, `log-pending`),
and promotion under a concurrent reader."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
ENV = os.environ | {
    "PYTHONWARNINGS": "ignore",
    "MPLBACKEND": "Agg",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
}  # `mlflow models serve` runs the venv's uvicorn by name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc, seconds: float = 120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, f"{url}: the server exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def _sql(statement: str):
    import sqlalchemy as sa

    with sa.create_engine(f"{PG}/test", isolation_level="AUTOCOMMIT").connect() as c:
        c.execute(sa.text(statement))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    "A real tracking server on 127.0.0.1: a fresh PostgreSQL database as backend store, a local artifact root."
    db, port, root = f"fnb_{uuid.uuid4().hex[:10]}", free_port(), tmp_path_factory.mktemp("mlflow")
    _sql(f"CREATE DATABASE {db}")
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"{PG}/{db}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=ENV,
        stdout=open(root / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
        _sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def cli(*args, cwd, timeout=300):
    return subprocess.run(
        [str(BIN / "forecast-nb"), *args],
        cwd=cwd,
        env=ENV | {"FORECAST_NB_RUNS": str(cwd)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CO2 = ["--data", "sample:CO2", "--val-size", "24", "--test-size", "24", "--horizon", "12"]
SEASONAL = ["--model", "arima", "--model-params", '{"order": [1, 1, 1], "seasonal_order": [0, 1, 1, 12]}']


def test_workflow_over_http_and_loading_by_alias_in_a_fresh_process(server, tmp_path):
    import mlflow
    from forecast_nb.pipeline import run_training

    res = run_training(
        data="sample:CO2",
        val_size=24,
        test_size=24,
        horizon=12,
        model="arima",
        model_params={"order": (1, 1, 1), "seasonal_order": (0, 1, 1, 12)},
        tracking_uri=server,
        model_name="co2-http",
    )
    assert (res.logged.version, res.logged.promoted) == ("1", True)
    client = mlflow.MlflowClient(server)
    run = client.get_run(res.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["data.rows"] == "526" and "val_mae" in run.data.metrics
    assert {a.path for a in client.list_artifacts(res.run_id)} >= {"data", "features", "validation", "test", "gate.csv"}
    code = (
        "import json, mlflow; from forecast_nb.pyfunc import forecast_request; "
        "m = mlflow.pyfunc.load_model('models:/co2-http@production'); "
        "print(json.dumps(m.predict(forecast_request(12))['yhat'].tolist()))"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code],
        env=ENV | {"MLFLOW_TRACKING_URI": server},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert (
        json.loads(fresh.stdout.strip().splitlines()[-1]) == res.final.model.predict(12)["yhat"].tolist()
    )  # bit for bit
    worse = cli(
        "run",
        *CO2,
        "--model",
        "seasonal_naive",
        "--gate",
        "none",
        "--model-name",
        "co2-http",
        "--tracking-uri",
        server,
        cwd=tmp_path,
    )
    assert worse.returncode == 0, worse.stderr[-2000:]
    assert "registered as co2-http v2; production stays v1" in worse.stdout
    assert client.get_model_version_by_alias("co2-http", "production").version in ("1", 1)


def test_mlflow_models_serve_answers_invocations(server, tmp_path):
    import mlflow
    import pandas as pd
    from forecast_nb.pyfunc import forecast_request

    r = cli(
        "run",
        *CO2,
        "--model",
        "drift",
        "--gate",
        "none",
        "--model-name",
        "co2-serve",
        "--tracking-uri",
        server,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/co2-serve@production",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=ENV | {"MLFLOW_TRACKING_URI": server},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, 120)
        body = json.dumps({"dataframe_split": forecast_request(6).to_dict(orient="split", index=False)}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            got = pd.DataFrame(json.loads(resp.read())["predictions"])
        mlflow.set_tracking_uri(server)
        local = mlflow.pyfunc.load_model("models:/co2-serve@production").predict(forecast_request(6))
        assert got["yhat"].tolist() == local["yhat"].tolist() and got["step"].tolist() == [1, 2, 3, 4, 5, 6]
    finally:
        proc.terminate()
        proc.wait(30)


def test_unreachable_server_fails_fast_keeps_the_run_and_log_pending_uploads_it(server, tmp_path):
    import mlflow

    dead = f"http://127.0.0.1:{free_port()}"
    t0 = time.time()
    r = cli(
        "run",
        *CO2,
        "--model",
        "seasonal_naive",
        "--gate",
        "none",
        "--model-name",
        "co2-pending",
        "--tracking-uri",
        dead,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and f"the MLflow tracking server at {dead} does not answer" in r.stderr
    assert time.time() - t0 < 90
    kept = list((tmp_path / "pending").glob("*/bundle.json"))
    assert (
        len(kept) == 1
        and (kept[0].parent / "forecaster").exists()
        and (kept[0].parent / "artifacts/validation/val_forecasts.parquet").exists()
    )
    up = cli("log-pending", "--tracking-uri", server, cwd=tmp_path)
    assert up.returncode == 0, up.stderr[-2000:]
    assert "1 pending run(s) uploaded" in up.stdout and not list((tmp_path / "pending").glob("*"))
    assert mlflow.MlflowClient(server).get_model_version_by_alias("co2-pending", "production").version in ("1", 1)


def test_promotion_never_leaves_production_unset_for_a_concurrent_reader(server, tmp_path):
    import mlflow
    from forecast_nb.registry import promote

    for _ in range(2):
        r = cli(
            "run",
            *CO2,
            "--model",
            "naive",
            "--gate",
            "none",
            "--no-promote",
            "--model-name",
            "co2-alias",
            "--tracking-uri",
            server,
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr[-2000:]
    client = mlflow.MlflowClient(server)
    promote("co2-alias", "1", client)
    seen, missing, stop = [], [], threading.Event()

    def reader():
        c = mlflow.MlflowClient(server)
        while not stop.is_set():
            try:
                seen.append(str(c.get_model_version_by_alias("co2-alias", "production").version))
            except Exception as e:
                missing.append(repr(e))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(20):
            promote("co2-alias", "2" if i % 2 == 0 else "1", client)
    finally:
        stop.set()
        t.join()
    assert not missing and len(seen) > 20 and set(seen) == {"1", "2"}
    assert str(client.get_model_version_by_alias("co2-alias", "previous").version) == "2"
