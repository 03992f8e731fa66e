"""Features reach the models that take them, in validation, on test and when served, and nothing after an origin
reaches a forecast made from it: ARIMA, Prophet and the LSTM fed their own features, end to end."""

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from forecast_nb.config import TrainConfig
from forecast_nb.data import load
from forecast_nb.features import FeatureSpec
from forecast_nb.models import load_model, model_for
from forecast_nb.pyfunc import forecast_from, forecast_request
from forecast_nb.selection import model_step, select_step
from forecast_nb import selection  # its test_step is not a test
from forecast_nb.split import chrono_split

SPEC = FeatureSpec(lags=[0, 1, 2, 6], windows=[12], window_stats=["mean"], calendar=["month"])
FAST = {"arima": {"order": (1, 1, 1), "seasonal_order": (0, 1, 1, 12)}, "prophet": {}, "lstm": {"epochs": 2}}


@pytest.fixture(scope="module")
def co2() -> pd.DataFrame:
    return load("sample:CO2").iloc[-180:]


@pytest.mark.parametrize("garbage", ["noise", "huge"])
@pytest.mark.parametrize("name", ["arima", "prophet", "lstm"])
def test_a_fed_models_forecasts_ignore_every_value_after_their_origin(co2, name, garbage):
    "The values after the first validation origin replaced by garbage: the forecasts from that origin do not move."
    cfg = TrainConfig(horizon=12, val_size=24, test_size=12)
    split = chrono_split(co2, val=24, test=12)
    params = FAST[name] | {"features": asdict(SPEC), "features_horizon": 12}
    clean = model_step(cfg, co2, split, name, params).forecasts
    origin = co2.index.get_loc(clean["cutoff"].iloc[0]) + 1  # rows known at the first origin
    bad = co2.copy()
    rng = np.random.default_rng(7)
    bad.iloc[origin:, 0] = rng.normal(0, 50, len(bad) - origin) if garbage == "noise" else 1e9
    dirty = model_step(cfg, bad, split, name, params).forecasts
    first = clean["cutoff"] == clean["cutoff"].iloc[0]
    np.testing.assert_allclose(dirty.loc[first, "yhat"], clean.loc[first, "yhat"], rtol=1e-6)
    assert not np.allclose(dirty.loc[~first, "yhat"], clean.loc[~first, "yhat"])  # later origins saw the garbage


def test_selection_scores_each_feature_taking_model_with_and_without_them(co2):
    cfg = TrainConfig(model="auto", candidates=["arima", "theta", "ensemble"], horizon=12, val_size=24, test_size=12)
    cfg = cfg.replace(model_params={"arima": FAST["arima"]})
    split = chrono_split(co2, val=24, test=12)
    sel = select_step(cfg, co2, split, gate=None, features=SPEC)
    tab = sel.candidates
    assert tab[["model", "features"]].values.tolist()[:3] == [
        ["arima", "none"],
        ["theta", "none"],  # univariate: it says so
        ["arima", "lags 0-2, 6; windows 12 (mean); calendar month"],
    ], tab
    assert tab["model"].iloc[-1] == "ensemble" and (tab["status"].iloc[:3] == "scored").all(), tab
    final = selection.test_step(cfg, co2, split, sel.best.name, sel.best.params)
    assert np.isfinite(final.forecasts["yhat"]).all() and len(final.forecasts) == 12


def test_a_fed_model_serves_what_it_forecast_and_builds_features_for_new_rows(co2, tmp_path):
    y = co2["co2"]
    m = model_for("arima", 12, **FAST["arima"], features=asdict(SPEC)).fit(y.iloc[:-3])
    back = load_model(m.save(tmp_path / "m"))
    served = forecast_from(back, forecast_request(12).iloc[0].to_dict())
    np.testing.assert_array_equal(served[["yhat", "lo_80", "hi_95"]], m.predict(12)[["yhat", "lo_80", "hi_95"]])
    moved = forecast_from(back, forecast_request(6, history=y.iloc[-5:]).iloc[0].to_dict())  # 2 rows it holds
    expected = model_for("arima", 12, **FAST["arima"], features=asdict(SPEC)).fit(y.iloc[:-3]).update(y.iloc[-3:])
    np.testing.assert_allclose(moved["yhat"], expected.predict(6)["yhat"], rtol=1e-9)
