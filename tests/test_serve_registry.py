"""The API and its registry, on real servers over loopback: it serves the registry it was given (not the one in the
current folder), keeps the tracking URI's password out of its logs and answers, says within two polls that a killed
`mlflow server` is gone, and refuses an unreachable prediction log with one line before it starts."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent
TOKEN = "test-token-" + uuid.uuid4().hex[:8]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FORECAST_NB_TOKEN"))}
ENV |= {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, path: str, body=None, headers=None):
    "(status, text of the body) of one request."
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"} | (headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get(url: str, path: str, headers=None) -> dict:
    return json.loads(call(url, path, headers=headers)[1])


@pytest.fixture(scope="module")
def registries(runs_env, ar1_series):
    "Two stores, each with a `demo` v1: naive models of a series near 100 (a) and near 500 (b); b's production is a v2."
    from forecast_nb.pipeline import run_training
    from forecast_nb.registry import promote

    out = {}
    for key, level in (("a", 0.0), ("b", 400.0)):
        root = runs_env / key
        root.mkdir()
        (ar1_series(120, seed=len(out)) + level).to_csv(root / "series.csv")
        store = f"sqlite:///{root}/mlflow.db"
        res = run_training(
            data=str(root / "series.csv"),
            calendar=None,
            horizon=3,
            model="naive",
            tracking_uri=store,
            model_name="demo",
            gate=None,
        )
        assert (res.logged.version, res.logged.promoted) == ("1", True)
        yhat = res.final.model.predict(3)["yhat"].tolist()
        out[key] = {"root": root, "store": store, "run_id": res.run_id, "yhat": yhat}
    again = run_training(
        data=str(out["b"]["root"] / "series.csv"),
        calendar=None,
        horizon=3,
        model="drift",
        tracking_uri=out["b"]["store"],
        model_name="demo",
        gate=None,
        promote=False,
    )
    assert promote("demo", again.logged.version, out["b"]["store"])["production"] == "2"
    assert abs(out["a"]["yhat"][0] - out["b"]["yhat"][0]) > 100
    return out


def start(cwd: Path, store: str, log: Path, *extra, env=None, tries: int = 3):
    "`forecast-nb serve --name demo` on a free port, once it has loaded the model; its output goes to `log`."
    for _ in range(tries):
        port = free_port()
        with open(log, "w") as out:
            args = [
                "--name",
                "demo",
                "--port",
                str(port),
                "--tracking-uri",
                store,
                "--log-url",
                f"sqlite:///{log.parent}/predictions.db",
                *extra,
            ]
            proc = subprocess.Popen(
                [str(BIN / "forecast-nb"), "serve", *args],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=(env or ENV) | {"FORECAST_NB_TOKEN": TOKEN},
            )
        url, deadline = f"http://127.0.0.1:{port}", time.time() + 60
        while proc.poll() is None and time.time() < deadline:
            try:
                if get(url, "/health")["model_loaded"]:
                    return proc, url
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        stop(proc)
        if "address already in use" not in log.read_text():
            break
    pytest.fail(f"the API did not start: {log.read_text()[-2000:]}")


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def mlflow_server(store: str, root: Path):
    "A real `mlflow server` on 127.0.0.1 over a copy of `store` (in its own session: killing it kills its workers)."
    root.mkdir(exist_ok=True)
    src, dst = sqlite3.connect(store.removeprefix("sqlite:///")), sqlite3.connect(root / "mlflow.db")
    src.backup(dst)
    src.close()
    dst.close()
    for _ in range(3):
        port = free_port()
        args = [
            "--backend-store-uri",
            f"sqlite:///{root}/mlflow.db",
            "--artifacts-destination",
            str(root / "art"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]
        with open(root / "server.log", "w") as out:
            proc = subprocess.Popen(
                [str(BIN / "mlflow"), "server", *args],
                env=ENV,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    return proc, port
            except OSError:
                time.sleep(0.3)
        kill(proc)
    pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")


def kill(proc):
    "SIGKILL the server and every process of its session."
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


@pytest.mark.parametrize("where", ["cwd", "registry_uri"])
def test_serves_the_registry_it_was_given_not_the_process_wide_one(registries, tmp_path, where):
    "b is the process-wide registry: as ./mlflow.db (MLFLOW_TRACKING_URI unset), or as $MLFLOW_REGISTRY_URI."
    a, b = registries["a"], registries["b"]
    if where == "cwd":
        proc, url = start(b["root"], a["store"], tmp_path / "api.log")
    else:
        proc, url = start(tmp_path, a["store"], tmp_path / "api.log", env=ENV | {"MLFLOW_REGISTRY_URI": b["store"]})
    try:
        status, body = call(url, "/forecast", {"horizon": 3}, AUTH)
        info = get(url, "/model", AUTH)
    finally:
        stop(proc)
    assert status == 200, body
    assert (info["version"], info["run_id"]) == ("1", a["run_id"])
    assert json.loads(body)["yhat"] == pytest.approx(a["yhat"], rel=1e-12)  # a's model, not b's (near 500)


def test_the_tracking_uri_password_is_in_no_log_line_and_no_answer(registries, tmp_path):
    "A long token as password (a prefix of it must not show either), MLflow's errors naming the URL, the server killed."
    password = "tok" + uuid.uuid4().hex * 10
    server, port = mlflow_server(registries["a"]["store"], tmp_path / "mlflow")
    uri = f"http://forecaster:{password}@127.0.0.1:{port}"
    env = ENV | {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}  # MLflow's errors, soon
    answers, log = [], tmp_path / "api.log"
    try:
        proc, url = start(tmp_path, uri, log, "--poll-seconds", "0.5", env=env)
        try:
            unfit = {"horizon": 3, "features": {"x": [1.0, 2.0, 3.0]}}
            ok = {"horizon": 3}
            answers += [
                call(url, "/health"),
                call(url, "/model", headers=AUTH),
                call(url, "/forecast", ok, AUTH),
                call(url, "/forecast", {"horizon": 0}, AUTH),
                call(url, "/forecast", unfit, AUTH),
                call(url, "/nowhere", headers=AUTH),
            ]
            kill(server)
            deadline, info = time.time() + 30, {}
            while time.time() < deadline and "API request" not in str(info.get("registry_error")):
                time.sleep(0.3)
                info = get(url, "/model", AUTH)
            answers += [
                call(url, "/health"),
                call(url, "/model", headers=AUTH),
                call(url, "/forecast", {"horizon": 3}, AUTH),
            ]
        finally:
            stop(proc)
        args = ["--name", "demo", "--tracking-uri", uri, "--port", str(free_port())]
        r = subprocess.run(
            [str(BIN / "forecast-nb"), "serve", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )  # the registry is gone: refused
    finally:
        kill(server)
    assert "API request" in info["registry_error"] and "forecaster:***@" in info["registry_error"]  # MLflow's, masked
    assert r.returncode == 2 and "forecaster:***@" in r.stderr
    seen = "\n".join([log.read_text(), r.stdout, r.stderr] + [text for _, text in answers])
    assert [status for status, _ in answers[:6]] == [200, 200, 200, 422, 422, 404]
    for piece in (password, password[:12], password[-12:]):
        assert piece not in seen, seen[max(0, seen.find(piece) - 300) : seen.find(piece) + 100]


def test_health_says_the_registry_is_gone_within_two_polls(registries, tmp_path):
    "A registry that hangs (stopped) or is killed: /health says so within two polls of 1 s, not after MLflow's retries."
    server, port = mlflow_server(registries["a"]["store"], tmp_path / "mlflow")

    def until(ok: bool, seconds: float = 15) -> float:
        t = time.monotonic()
        while time.monotonic() - t < seconds and get(url, "/health")["registry_ok"] is not ok:
            time.sleep(0.05)
        return time.monotonic() - t

    try:
        proc, url = start(tmp_path, f"http://127.0.0.1:{port}", tmp_path / "api.log", "--poll-seconds", "1")
        try:
            time.sleep(2.5)
            assert get(url, "/health")["registry_ok"] is True  # polls answered
            os.killpg(server.pid, signal.SIGSTOP)
            hung = until(False)  # connections accepted, never answered
            hung_error = get(url, "/model", AUTH)["registry_error"]
            os.killpg(server.pid, signal.SIGCONT)
            back = until(True)
            kill(server)
            killed = until(False)
            health, (status, _) = get(url, "/health"), call(url, "/forecast", {"horizon": 3}, AUTH)
        finally:
            stop(proc)
    finally:
        kill(server)
    assert hung <= 2 * 1.0 + 0.75 and killed <= 2 * 1.0 + 0.75, (hung, killed)  # two poll intervals, a small margin
    assert "has not answered for" in hung_error and back < 10, (hung_error, back)
    assert health["registry_ok"] is False and health["model_loaded"] and status == 200  # still serving what it has


def test_an_unreachable_prediction_log_is_one_error_line_and_exit_2(registries, tmp_path):
    "Refused at once (nothing listens), or a server that accepts the connection and never answers: bounded either way."
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connects, never speaks
    try:
        for port in (1, silent.getsockname()[1]):
            log_url, t = f"postgresql://nobody@127.0.0.1:{port}/nowhere", time.monotonic()
            args = [
                "--name",
                "demo",
                "--tracking-uri",
                registries["a"]["store"],
                "--log-url",
                log_url,
                "--port",
                str(free_port()),
            ]
            r = subprocess.run(
                [str(BIN / "forecast-nb"), "serve", *args],
                env=ENV,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=90,
            )
            took = time.monotonic() - t
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1, (log_url, r.returncode, r.stderr[-3000:])
            assert lines[0].startswith(f"error: the prediction log '{log_url}' cannot be opened"), lines
            assert "Traceback" not in r.stderr and took < 25, (log_url, took)
    finally:
        silent.close()
    assert not (tmp_path / "mlflow.db").exists()
