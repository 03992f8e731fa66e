"""Tracking under faults: a new embedded store opened by several processes at once, a tuning run killed and resumed,
a tracking server that dies during an upload."""

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "forecast-nb"


def _open_store(uri: str, start: float, out):
    from forecast_nb.tracking import experiment_id

    time.sleep(max(0.0, start - time.time()))  # every process opens the store at the same moment
    try:
        out.put(("ok", experiment_id("together", uri)))
    except Exception as e:
        out.put(("error", f"{type(e).__name__}: {e}"))


def test_several_processes_create_a_new_store_once(tmp_path):
    ctx = mp.get_context("spawn")
    for round_ in range(3):
        uri, out = f"sqlite:///{tmp_path}/r{round_}/mlflow.db", ctx.Queue()
        procs = [ctx.Process(target=_open_store, args=(uri, time.time() + 4, out)) for _ in range(6)]
        for p in procs:
            p.start()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        assert all(kind == "ok" for kind, _ in results), results
        assert len({v for _, v in results}) == 1  # one experiment, made once


def test_http_calls_are_bounded_unless_the_environment_says_otherwise(monkeypatch):
    from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT
    from forecast_nb.tracking import mlflow_client

    for k in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.delenv(k, raising=False)
    mlflow_client("http://127.0.0.1:9")
    assert (MLFLOW_HTTP_REQUEST_TIMEOUT.get(), MLFLOW_HTTP_REQUEST_MAX_RETRIES.get()) == (15, 2)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "40")
    mlflow_client("http://127.0.0.1:9")
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 40


def _children(client, exp, parent):
    return client.search_runs([exp], f"tags.mlflow.parentRunId = '{parent}'", max_results=1000)


def test_a_killed_tune_resumes_under_the_same_parent_run_with_every_trial_once(tmp_path):
    import optuna
    from forecast_nb.studies import spends_budget
    from forecast_nb.tracking import mlflow_client

    uri, storage = f"sqlite:///{tmp_path}/mlflow.db", f"sqlite:///{tmp_path}/optuna.db"
    cmd = [
        str(BIN),
        "tune",
        "--model",
        "arima",
        "--data",
        "sample:CO2",
        "--method",
        "random",
        "--n-trials",
        "12",
        "--horizon",
        "12",
        "--storage",
        storage,
        "--study",
        "co2-kill",
        "--tracking-uri",
        uri,
        "--json",
    ]
    env = os.environ | {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg", "FORECAST_NB_RUNS": str(tmp_path)}
    client = mlflow_client(uri)  # the store is created here, once, before the subprocess opens it
    p = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline:  # kill it once some trials are logged, before it is done
        exp = (Path(tmp_path, "mlflow.db").exists() and client.get_experiment_by_name("forecast-nb-tuning")) or None
        if exp and len(client.search_runs([exp.experiment_id], "tags.`tuning.method` = 'random'")) >= 3:
            break
        assert p.poll() is None, p.stderr.read().decode()[-2000:]
        time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    parents = client.search_runs([exp.experiment_id], "tags.`workflow.stage` = 'tuning'")
    assert len(parents) == 1 and parents[0].info.status == "RUNNING"
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    parents = client.search_runs([exp.experiment_id], "tags.`workflow.stage` = 'tuning'")
    assert (
        len(parents) == 1
        and parents[0].info.status == "FINISHED"
        and parents[0].info.run_id == json.loads(r.stdout)["mlflow_run_id"]
    )
    numbers = [int(c.data.params["trial_number"]) for c in _children(client, exp.experiment_id, parents[0].info.run_id)]
    study = optuna.load_study(study_name="co2-kill", storage=storage)
    finished = [t.number for t in study.get_trials(deepcopy=False) if spends_budget(t)]
    assert len(numbers) == len(set(numbers)) and set(finished) <= set(numbers) and len(finished) >= 12


class _DyingProxy:
    """An HTTP proxy to a tracking server that dies (drops every connection)
    a few requests after the training run is created."""

    def __init__(self, target: str, after: int = 3):
        import http.server
        import urllib.request

        proxy = self
        self.target, self.after, self.seen_create, self.count, self.dead = target, after, False, 0, False

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.dead:
                    self.close_connection = True
                    return  # the server is gone: no answer at all
                if proxy.seen_create:
                    proxy.count += 1
                    proxy.dead = proxy.count >= proxy.after
                if "/runs/create" in self.path and b"training" in body:
                    proxy.seen_create = True
                req = urllib.request.Request(
                    proxy.target + self.path,
                    data=body or None,
                    method=self.command,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")},
                )
                try:
                    r = urllib.request.urlopen(req, timeout=60)
                    status, data, headers = r.status, r.read(), r.headers
                except urllib.error.HTTPError as e:
                    status, data, headers = e.code, e.read(), e.headers
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_server_that_dies_mid_upload_fails_the_run_fast_and_log_pending_ends_the_partial_run(tmp_path):
    from mlflow import MlflowClient
    from test_mlflow_server import ENV, free_port, wait_http

    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN.parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/server.db",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=ENV,
        stdout=open(tmp_path / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    proxy = None
    try:
        real = f"http://127.0.0.1:{port}"
        wait_http(real + "/health", proc)
        proxy = _DyingProxy(real)
        env = {k: v for k, v in ENV.items() if not k.startswith("MLFLOW_HTTP")} | {
            "FORECAST_NB_RUNS": str(tmp_path / "runs")
        }
        args = [
            "run",
            "--data",
            "sample:CO2",
            "--val-size",
            "24",
            "--test-size",
            "24",
            "--horizon",
            "12",
            "--model",
            "naive",
            "--model-name",
            "dies",
        ]
        t0 = time.time()
        r = subprocess.run(
            [str(BIN), *args, "--tracking-uri", proxy.url],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proxy.dead and r.returncode == 2, (r.stdout[-2000:], r.stderr[-2000:])
        assert time.time() - t0 < 60 and "log-pending" in r.stderr and "Traceback" not in r.stderr
        assert len(list((tmp_path / "runs" / "pending").glob("*/bundle.json"))) == 1
        r = subprocess.run(
            [str(BIN), "log-pending", "--tracking-uri", real],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0 and "1 pending run(s) uploaded" in r.stdout, r.stderr[-2000:]
        c = MlflowClient(real)
        runs = c.search_runs(
            [c.get_experiment_by_name("forecast-nb").experiment_id], "tags.`workflow.stage` = 'training'"
        )
        assert sorted(x.info.status for x in runs) == [
            "FAILED",
            "FINISHED",
        ]  # the partial run is ended, never left RUNNING
        assert [x.data.tags.get("superseded") is not None for x in runs if x.info.status == "FAILED"] == [True]
    finally:
        if proxy:
            proxy.server.shutdown()
        proc.terminate()
        proc.wait(30)
