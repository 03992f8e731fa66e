"""The forecasting API on a real uvicorn server over loopback: auth, the registry's numbers, the bad-input matrix
(422, never 500), the prediction log (SQLite and PostgreSQL), hot reload under load, refusing to expose itself,
and schemathesis on its own schema."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

BIN = Path(sys.executable).parent
TOKEN = "test-token-" + uuid.uuid4().hex[:8]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ENV = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {
    "PYTHONWARNINGS": "ignore",
    "MPLBACKEND": "Agg",
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, path: str, body=None, headers=None, raw: bytes | None = None):
    "(status, JSON body) of one request."
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(
        url + path,
        data=data,
        headers={"Content-Type": "application/json"} | (headers or {}),
        method="POST" if data is not None else "GET",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture(scope="module")
def api(runs_env, ar1_series):
    "A model with two registered versions (v1 in production), served by `forecast-nb serve` on 127.0.0.1."
    from forecast_nb.pipeline import run_training

    root, y = runs_env, ar1_series(400)
    store, data = f"sqlite:///{root}/mlflow.db", root / "series.csv"
    y.to_csv(data)
    common = dict(data=str(data), calendar=None, horizon=5, tracking_uri=store, model_name="demo", gate=None)
    v1 = run_training(model="arima", model_params={"order": [1, 0, 0], "trend": "c"}, **common)
    v2 = run_training(model="arima", model_params={"order": [2, 0, 0], "trend": "c"}, promote=False, **common)
    assert (v1.logged.version, v1.logged.promoted, v2.logged.version, v2.logged.promoted) == ("1", True, "2", False)
    proc, url = start(root, store)
    try:
        yield {"url": url, "store": store, "root": root, "y": y, "v1": v1}
    finally:
        proc.terminate()
        proc.wait(30)


def start(root: Path, store: str, tries: int = 3):
    "`forecast-nb serve` on a free port (another port if one was taken meanwhile), once it has loaded the model."
    for _ in range(tries):
        port = free_port()
        with open(root / "serve.log", "w") as out:
            proc = subprocess.Popen(
                [
                    str(BIN / "forecast-nb"),
                    "serve",
                    "--name",
                    "demo",
                    "--port",
                    str(port),
                    "--tracking-uri",
                    store,
                    "--log-url",
                    f"sqlite:///{root}/predictions.db",
                    "--poll-seconds",
                    "0.5",
                    "--max-horizon",
                    "30",
                ],
                env=ENV | {"FORECAST_NB_TOKEN": TOKEN},
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url, deadline = f"http://127.0.0.1:{port}", time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            try:
                if call(url, "/health")[1]["model_loaded"]:
                    return proc, url
            except (OSError, ValueError):
                pass  # not up yet, or another server got the port
            time.sleep(0.25)
        proc.terminate()
        proc.wait(30)
        if "address already in use" not in (root / "serve.log").read_text():
            break
    pytest.fail(f"the API did not start: {(root / 'serve.log').read_text()[-2000:]}")


def test_health_is_open_everything_else_wants_the_token(api):
    u = api["url"]
    status, health = call(u, "/health")
    assert status == 200 and health["model_loaded"] and health["version"] == "1"
    for path in ("/model", "/openapi.json", "/docs"):
        assert call(u, path)[0] == 401, path
        assert call(u, path, headers={"Authorization": "Bearer wrong"})[0] == 401, path
    assert call(u, "/forecast", {"horizon": 5})[0] == 401
    status, info = call(u, "/model", headers=AUTH)
    assert status == 200 and info["version"] == "1" and info["run_id"] == api["v1"].run_id and info["model"] == "arima"
    assert (
        info["data_end"].startswith(str(api["y"].index[-1].date()))
        and "test_mae" in info["metrics"]
        and "val_mae" in info["metrics"]
    )


def test_forecasts_are_the_registry_models_and_are_logged(api):
    import mlflow
    from forecast_nb.pyfunc import forecast_request
    from forecast_nb.predlog import PredictionLog

    status, body = call(api["url"], "/forecast", {"horizon": 5, "level": [80, 95]}, AUTH)
    assert status == 200 and body["version"] == "1" and len(body["ds"]) == 5
    mlflow.set_tracking_uri(api["store"])
    try:
        expected = mlflow.pyfunc.load_model("models:/demo/1").predict(forecast_request(5))
    finally:
        mlflow.set_tracking_uri(None)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    np.testing.assert_allclose(body["yhat"], expected["yhat"], rtol=1e-12)
    np.testing.assert_allclose(body["intervals"]["95"]["lo"], expected["lo_95"], rtol=1e-12)
    y = api["y"]
    nxt = pd.bdate_range(y.index[-1], periods=4)[1:]
    status, cond = call(api["url"], "/forecast", {"horizon": 3, "history": {str(d.date()): 101.0 for d in nxt}}, AUTH)
    assert (
        status == 200
        and cond["origin"].startswith(str(nxt[-1].date()))
        and cond["ds"][0].startswith(str(pd.bdate_range(nxt[-1], periods=2)[1].date()))
    )
    with PredictionLog(f"sqlite:///{api['root']}/predictions.db", writer=False) as log:
        for _ in range(300):
            rows = log.read("demo")
            if set(rows["request_id"]) >= {body["request_id"], cond["request_id"]}:
                break
            time.sleep(0.1)
    mine = rows[rows["request_id"] == cond["request_id"]]
    assert list(mine["step"]) == [1, 2, 3] and set(mine["model_version"]) == {"1"} and (mine["history_rows"] == 3).all()
    assert mine["origin"].iloc[0] == nxt[-1] and mine["yhat"].round(9).tolist() == np.round(cond["yhat"], 9).tolist()
    assert json.loads(mine["bounds"].iloc[0]).keys() == {"80", "95"}


BAD = [
    ("malformed JSON", None, b'{"horizon": 5,'),
    ("not an object", [5], None),
    ("horizon missing", {}, None),
    ("horizon 0", {"horizon": 0}, None),
    ("horizon above max", {"horizon": 31}, None),
    ("horizon a string", {"horizon": "5"}, None),
    ("horizon fractional", {"horizon": 2.5}, None),
    ("horizon null", {"horizon": None}, None),
    ("level 100", {"horizon": 5, "level": [100]}, None),
    ("level a string", {"horizon": 5, "level": ["wide"]}, None),
    ("history NaN", None, b'{"horizon": 5, "history": {"2030-01-02": NaN}}'),
    ("history Infinity", None, b'{"horizon": 5, "history": {"2030-01-02": Infinity}}'),
    ("history not a date", {"horizon": 5, "history": {"yesterday": 1.0}}, None),
    ("history dates out of order", {"horizon": 5, "history": {"2030-01-03": 1.0, "2030-01-02": 1.0}}, None),
    ("history out of pandas' range", {"horizon": 5, "history": {"9999-01-01": 1.0}}, None),
    ("history a list", {"horizon": 5, "history": [1.0, 2.0]}, None),
    ("history with a gap", "gap", None),
    ("history off the calendar", "saturday", None),
    ("features the model was not fit with", {"horizon": 2, "features": {"x": [1.0, 2.0]}}, None),
    ("features of the wrong length", {"horizon": 2, "features": {"x": [1.0]}}, None),
    ("a model URI smuggled in", {"horizon": 5, "model_uri": "file:///etc/passwd"}, None),
    ("a pickle path smuggled in", {"horizon": 5, "model": "/tmp/model.pkl"}, None),
]


@pytest.mark.parametrize("case,body,raw", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_422_with_a_message_never_500(api, case, body, raw):
    last = api["y"].index[-1]
    if body == "gap":
        body = {"horizon": 5, "history": {str(pd.bdate_range(last, periods=3)[2].date()): 100.0}}
    if body == "saturday":
        body = {"horizon": 5, "history": {str((last + pd.offsets.Week(weekday=5)).date()): 100.0}}
    status, out = call(api["url"], "/forecast", body, AUTH, raw)
    assert status == 422, (case, status, out)
    assert out["detail"], case
    if case == "history with a gap":
        assert "send the observations from" in out["hint"]


def test_a_new_production_version_is_swapped_in_under_load_with_no_failed_request(api):
    from forecast_nb.registry import promote
    from mlflow import MlflowClient

    seen, failures, stop = [[] for _ in range(4)], [], threading.Event()

    def client(mine):
        while not stop.is_set():
            try:
                status, body = call(api["url"], "/forecast", {"horizon": 5}, AUTH)
                if status != 200:
                    failures.append((status, body))
                else:
                    mine.append(body["version"])
            except OSError as e:
                failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(s,)) for s in seen]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        promote("demo", "2", MlflowClient(api["store"]))
        deadline = time.time() + 30
        while time.time() < deadline and not all(s and s[-1] == "2" for s in seen):
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        promote("demo", "1", MlflowClient(api["store"]))  # back as it was for the other tests
    assert failures == []
    assert any(s and s[0] == "1" for s in seen)
    for s in seen:
        assert s and s[-1] == "2", s[:3] + s[-3:]
        assert s == sorted(s), "a client went back to the old version"  # each client: v1 until the swap, then v2 only
    assert sum(map(len, seen)) > 50
    assert s[-1] == "2"


def test_refuses_to_expose_itself_without_a_token_and_names_unknown_models(api, tmp_path):
    def run(*a, env=ENV):
        return subprocess.run(
            [str(BIN / "forecast-nb"), "serve", *a], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    r = run("--name", "demo", "--host", "0.0.0.0", "--tracking-uri", api["store"])
    assert r.returncode == 2 and "--insecure" in r.stderr and "FORECAST_NB_TOKEN" in r.stderr
    r = run("--name", "nope", "--tracking-uri", api["store"])
    assert r.returncode == 2 and "no registered model 'nope'" in r.stderr


def test_prediction_log_on_postgresql_and_rows_kept_when_the_database_fails(tmp_path):
    import sqlalchemy as sa
    from forecast_nb.predlog import PredictionLog
    from forecast_nb.errors import ConfigError

    pg, db = "postgresql+psycopg://postgres@127.0.0.1:5432", f"fnb_log_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{pg}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {db}"))

    def row(i):
        return {
            "request_id": f"r{i}",
            "model_name": "m",
            "model_version": "1",
            "requested_at": pd.Timestamp("2026-01-05").to_pydatetime(),
            "origin": pd.Timestamp("2026-01-02").to_pydatetime(),
            "step": 1,
            "ds": pd.Timestamp("2026-01-05").to_pydatetime(),
            "yhat": float(i),
            "bounds": None,
            "history_rows": 0,
        }

    try:
        with PredictionLog(f"postgresql://postgres@127.0.0.1:5432/{db}", spill=tmp_path / "pg-unsaved.jsonl") as log:
            threads = [
                threading.Thread(target=lambda k=k: [log.append([row(k * 100 + i)]) for i in range(100)])
                for k in range(4)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert log.flush()
            assert sorted(log.read("m")["yhat"]) == sorted(float(k * 100 + i) for k in range(4) for i in range(100))
            log.append(
                [row(0) | {"model_name": "x" * 300}]
            )  # refused by the database (too long): kept aside, the rest go on
            log.append([row(7)])
            assert log.flush()
            assert len(log.read("m")) == 401 and "x" * 300 in (tmp_path / "pg-unsaved.jsonl").read_text()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        admin.dispose()
    with pytest.raises(ConfigError, match="cannot be opened"):
        PredictionLog("postgresql://postgres@127.0.0.1:1/none")
    with PredictionLog(f"sqlite:///{tmp_path}/p.db", spill=tmp_path / "unsaved.jsonl") as log:
        with log.engine.begin() as c:
            c.execute(sa.text("DROP TABLE predictions"))  # the database loses the table: writes fail
        log.append([row(1), row(2)])
        time.sleep(0.3)
    kept = [json.loads(line) for line in (tmp_path / "unsaved.jsonl").read_text().splitlines()]
    assert [k["yhat"] for k in kept] == [1.0, 2.0] and log.failures >= 1
    with (tmp_path / "unsaved.jsonl").open("a") as f:
        f.write(json.dumps(row(3) | {"yhat": None}, default=str) + "\n")  # a row the database refuses (NOT NULL)
        f.write('{"request_id": "r4", "model_na')  # a line cut short by a kill
    with PredictionLog(
        f"sqlite:///{tmp_path}/p.db", spill=tmp_path / "unsaved.jsonl"
    ) as log:  # the next log on the URL writes them back
        assert sorted(log.read("m")["yhat"]) == [1.0, 2.0]
    refused = (tmp_path / "unsaved.refused.jsonl").read_text()
    assert not (tmp_path / "unsaved.jsonl").exists() and '"r3"' in refused and "model_na" in refused


def test_a_version_that_fails_to_load_keeps_its_error_and_is_retried_later(api, monkeypatch):
    import forecast_nb.slot as slots

    slot = slots.ModelSlot("demo", tracking_uri=api["store"], poll_seconds=0.2)
    calls = []

    def broken(*a, **k):
        calls.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(slots, "load_deployed", broken)
    slot._check()
    slot._check()
    assert (
        slot.current is None and "disk full" in slot.last_error and len(calls) == 1
    )  # the second poll backs off, and says why
    time.sleep(1.1)
    slot._check()  # after one poll (at least a second)
    assert len(calls) == 2 and "disk full" in slot.last_error


def test_schemathesis_finds_no_server_error(api):
    """Every operation of the app's own OpenAPI schema, with schemathesis' generated requests (valid and invalid):
    all its checks pass."""
    from hypothesis import given
    from schemathesis.specs.openapi.checks import (
        positive_data_acceptance,
    )  # a history that does not continue the series is valid JSON but a 422

    schema = schemathesis.openapi.from_dict(
        json.loads(urllib.request.urlopen(urllib.request.Request(api["url"] + "/openapi.json", headers=AUTH)).read())
    )
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in operations} == {"GET /health", "GET /model", "POST /forecast"}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(base_url=api["url"], headers=AUTH, excluded_checks=[positive_data_acceptance])

        check()
