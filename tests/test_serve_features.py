"""A model fed features of other columns, served by `forecast-nb serve` on loopback: the schema and `GET /model` say
which columns a request must send, a request without them is a 422 naming them, and the API forecasts what the
pipeline's model forecasts from the same rows."""

import copy

import numpy as np
import pytest
from forecast_nb.data import load
from test_serve import AUTH, call, start

SPEC = {"indicators": {"atr": {}}, "lags": [0, 1], "lag_columns": ["volume"], "known_columns": ["friday"]}
READS = ["close", "high", "low", "volume", "friday"]


@pytest.fixture(scope="module")
def fed_api(runs_env):
    "ARIMA fed the average true range, yesterday's volume and a Friday flag known in advance, served as 'demo'."
    from forecast_nb.pipeline import run_training

    root = runs_env
    data = load("sample:AAPL").iloc[-400:]
    data = data.assign(friday=(data.index.day_of_week == 4).astype(float))
    data.iloc[:-8].to_csv(root / "aapl.csv")  # the last 8 rows arrive later: 3 as history, 5 to forecast
    store = f"sqlite:///{root}/mlflow.db"
    params = {"order": [1, 1, 0], "features": SPEC, "features_horizon": 5}
    run = run_training(
        data=str(root / "aapl.csv"),
        model="arima",
        model_params=params,
        features=SPEC,
        horizon=5,
        tracking_uri=store,
        model_name="demo",
        gate=None,
    )
    assert run.logged.promoted and run.final.model.data_columns == tuple(READS[1:])
    proc, url = start(root, store)
    try:
        yield {"url": url, "run": run, "data": data}
    finally:
        proc.terminate()
        proc.wait(30)


def _rows(frame) -> dict:
    return {d.isoformat(): {c: float(v) for c, v in row.items()} for d, row in frame[READS].iterrows()}


def test_the_schema_and_the_model_say_which_columns_a_request_sends(fed_api):
    status, info = call(fed_api["url"], "/model", headers=AUTH)
    assert status == 200 and info["request"] == {"history": READS, "features": ["friday"]}
    status, schema = call(fed_api["url"], "/openapi.json", headers=AUTH)
    body = schema["components"]["schemas"]["ForecastRequest"]
    assert "features" in body["required"] and "['friday']" in body["properties"]["features"]["description"]
    assert str(READS) in body["properties"]["history"]["description"]


def test_the_api_forecasts_what_the_pipelines_model_forecasts_from_the_same_rows(fed_api):
    u, data, model = fed_api["url"], fed_api["data"], fed_api["run"].final.model
    new, ahead = data.iloc[-8:-5], data.iloc[-5:]
    body = {"horizon": 5, "history": _rows(new), "features": {"friday": ahead["friday"].tolist()}}
    status, out = call(u, "/forecast", body, headers=AUTH)
    assert status == 200, out
    want = copy.deepcopy(model).update(new["close"], new).predict(5, ahead)
    np.testing.assert_allclose(out["yhat"], want["yhat"], rtol=1e-9)
    assert out["ds"][0].startswith(str(ahead.index[0].date()))
    status, plain = call(u, "/forecast", {"horizon": 2, "features": {"friday": [0.0, 1.0]}}, headers=AUTH)
    assert status == 200 and len(plain["yhat"]) == 2  # from the last row it holds


@pytest.mark.parametrize(
    "body, phrase",
    [
        ({"horizon": 5}, "known column(s) ['friday'] are needed"),
        ({"horizon": 5, "features": {"friday": [0.0, 1.0]}}, "each feature needs 5 values"),
        ({"horizon": 2, "features": {"friday": [0.0, 1.0]}, "history": "close-only"}, "history rows need column(s)"),
    ],
)
def test_a_request_without_the_columns_is_refused_with_them_named(fed_api, body, phrase):
    if body.get("history") == "close-only":
        new = fed_api["data"].iloc[-8:-5]
        body = body | {"history": {d.isoformat(): float(v) for d, v in new["close"].items()}}
    status, out = call(fed_api["url"], "/forecast", body, headers=AUTH)
    assert status == 422 and phrase in out["detail"], out
