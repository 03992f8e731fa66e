"""Every forecaster logs as the one pyfunc and comes back with the same forecasts,
with and without conditioning history."""

import mlflow
import pytest
from forecast_nb.data import load
from forecast_nb.models import get_model
from forecast_nb.pyfunc import forecast_request, forecast_from, log_forecaster
from forecast_nb.errors import ForecastNBError

MODELS = [
    ("naive", {}),
    ("seasonal_naive", {"season_length": 12}),
    ("drift", {}),
    ("arima", {"order": (1, 1, 1)}),
    ("ets", {}),
    ("theta", {}),
    ("prophet", {}),
    ("lstm", {"lookback": 24, "horizon": 6, "units": 8, "epochs": 2, "conformal_size": 40}),
]


@pytest.mark.parametrize("name, params", MODELS, ids=[m for m, _ in MODELS])
def test_every_forecaster_round_trips_through_the_pyfunc(pyfunc_store, name, params):
    y = load("sample:CO2")["co2"].iloc[-240:]
    model = get_model(name, **params).fit(y.iloc[:-6])
    with mlflow.start_run(experiment_id=pyfunc_store):
        info = log_forecaster(model)
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert info.signature.inputs.input_names() == ["horizon", "history", "features", "level"]
    got = loaded.predict(forecast_request(6))
    want = model.predict(6)
    assert (got["ds"].to_numpy() == want.index.to_numpy()).all()
    for col in want.columns:
        assert got[col].tolist() == want[col].tolist(), col
    conditioned = loaded.predict(forecast_request(3, history=y.iloc[-6:-3], level=(90,)))
    assert (
        list(conditioned.columns) == ["ds", "step", "yhat", "lo_90", "hi_90"]
        and conditioned["ds"].iloc[0] == y.index[-3]
    )
    assert len(model.y_) == len(y) - 6  # serving with history never moves the loaded model


@pytest.mark.parametrize(
    "request_row, phrase",
    [
        ({"horizon": -1}, "horizon=-1"),
        ({"horizon": 2.5}, "horizon=2.5"),
        ({"horizon": 3, "history": "not json"}, "history is not a JSON object"),
        ({"horizon": 3, "history": '{"2020-01-01": "x"}'}, "bad date or value"),
        ({"horizon": 3, "history": '{"2020-01-01": NaN}'}, "NaN"),
        ({"horizon": 3, "level": "[150]"}, "between 0 and 100"),
    ],
)
def test_bad_requests_are_clear_errors(request_row, phrase):
    model = get_model("naive").fit(load("sample:CO2")["co2"])
    with pytest.raises(ForecastNBError, match=phrase.replace("[", r"\[").replace("(", r"\(")):
        forecast_from(model, request_row)


def test_a_zoned_history_through_the_loaded_pyfunc_works_like_the_api(pyfunc_store):
    """One history parser: the registered pyfunc reads zoned dates as the API does (their wall-clock time on a model
    without a zone), where it used to crash comparing zoned and naive dates."""
    import pandas as pd
    from forecast_nb.pyfunc import history_series, on_clock

    y = load("sample:AAPL")["close"].iloc[-300:]
    model = get_model("arima", order=(1, 1, 0)).fit(y.iloc[:-5])
    with mlflow.start_run(experiment_id=pyfunc_store):
        loaded = mlflow.pyfunc.load_model(log_forecaster(model).model_uri)
    new = y.iloc[-5:-2]
    zoned = new.tz_localize("America/New_York")  # e.g. "2024-07-15T00:00:00-04:00"
    got = loaded.predict(forecast_request(3, history=zoned))
    want = forecast_from(model, {"horizon": 3, "history": new})
    assert got["ds"].iloc[0] == y.index[-2] and got["yhat"].tolist() == want["yhat"].tolist()
    api = on_clock(history_series({d.to_pydatetime(): v for d, v in zoned.items()}), model.y_.index.tz)
    assert list(api.index) == list(new.index)  # what the API's validator and `forecast_from` make of the same dates
    with pytest.raises(ForecastNBError, match="with and without a time zone"):
        loaded.predict(forecast_request(3, history=pd.concat([new.iloc[:1], zoned.iloc[1:]])))
