"""Walk-forward backtest: leakage end to end, equality with a hand loop, windows, parallelism, bad input."""

import numpy as np
import pandas as pd
import pytest
from forecast_nb import errors as E
from forecast_nb.backtest import walk_forward
from forecast_nb.data import load
from forecast_nb.features import FeatureSpec, perturb_after
from forecast_nb.models import get_model


@pytest.fixture(scope="module")
def prices():
    return load("sample:AAPL").iloc[-400:]


SPEC = FeatureSpec(indicators={"rsi": {"timeperiod": 10}}, lags=[0], calendar=True)


@pytest.mark.parametrize("kind", ["noise", "nan", "huge"])
def test_garbage_after_a_cutoff_never_changes_its_forecasts(prices, kind):
    "The leakage property end to end: ARIMA with features, refit every 3 cutoffs, updates in between."

    def run(d):
        return walk_forward(
            ("arima", {"order": (1, 1, 0)}),
            d,
            horizon=4,
            initial=300,
            step=8,
            refit_every=3,
            features=SPEC,
            progress=False,
        ).forecasts

    clean = run(prices)
    for cutoff in clean["cutoff"].unique()[[0, 4, 8, -1]]:
        origin = prices.index.get_loc(cutoff)
        dirty = run(
            perturb_after(prices, origin, kind).iloc[: origin + 5]
        )  # garbage in the test rows; nothing later at all
        a, b = clean[clean["cutoff"] == cutoff], dirty[dirty["cutoff"] == cutoff]
        np.testing.assert_array_equal(a["yhat"].to_numpy(), b["yhat"].to_numpy())
        np.testing.assert_array_equal(a["lo_95"].to_numpy(), b["lo_95"].to_numpy())


def test_refit_every_1_equals_a_hand_written_loop(prices):
    y = prices["close"]
    bt = walk_forward(("arima", {"order": (1, 1, 1)}), y, horizon=5, initial=300, step=10, progress=False)
    hand = []
    for origin in range(300, 400, 10):
        h = min(5, 400 - origin)
        hand.append(get_model("arima", order=(1, 1, 1)).fit(y.iloc[:origin]).predict(h))
    hand = pd.concat(hand)
    np.testing.assert_allclose(bt.forecasts["yhat"].to_numpy(), hand["yhat"].to_numpy(), rtol=1e-12)
    assert (bt.forecasts["ds"].to_numpy() == hand.index.to_numpy()).all() and bt.forecasts["refit"].all()


def test_sliding_window_gap_and_partial(prices):
    y = prices["close"]
    bt = walk_forward(
        "drift", y, horizon=5, initial=100, window="sliding", train_size=60, gap=2, step=50, progress=False
    )
    f = bt.forecasts
    first = f[f["cutoff"] == y.index[99]]
    train = y.iloc[40:100]
    slope = (train.iloc[-1] - train.iloc[0]) / 59
    np.testing.assert_allclose(first["yhat"].to_numpy(), train.iloc[-1] + slope * np.arange(3, 8))  # gap 2: steps 3..7
    assert (first["ds"].to_numpy() == y.index[102:107].to_numpy()).all()
    kept = walk_forward("naive", y, horizon=7, initial=380, step=7, progress=False).forecasts
    dropped = walk_forward("naive", y, horizon=7, initial=380, step=7, partial=False, progress=False).forecasts
    assert kept["cutoff"].nunique() == 3 and (kept.groupby("cutoff").size().to_list() == [7, 7, 6])
    assert dropped["cutoff"].nunique() == 2


def test_results_do_not_depend_on_n_jobs(prices):
    def run(n):
        return walk_forward(
            ("arima", {"order": (1, 1, 1)}), prices, horizon=5, initial=250, refit_every=5, n_jobs=n, progress=False
        )

    one, two = run(1), run(2)
    pd.testing.assert_frame_equal(one.forecasts, two.forecasts)
    pd.testing.assert_frame_equal(one.metrics, two.metrics)


def test_keep_models_and_partial_window_is_logged(prices, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="forecast_nb.backtest"):
        bt = walk_forward(
            "drift", prices["close"], horizon=7, initial=380, step=7, refit_every=2, keep_models=True, progress=False
        )
    assert "the last window has 6 of 7 test rows" in caplog.text
    assert (
        len(bt.models) == 2 and bt.models[1].y_.index[-1] == prices.index[-7]
    )  # updated through its group's last cutoff


def test_metrics_and_summary(prices):
    bt = walk_forward("naive", prices, horizon=5, initial=300, progress=False)
    m = bt.metrics
    assert m.loc["mae", "ratio"] == 1.0 and m.loc["mae", "model"] == m.loc["mae", "naive"]
    assert list(bt.window_metrics.columns[:3]) == ["mae", "rmse", "mase"] and len(bt.window_metrics) == 20
    assert list(bt.by_step().index) == [1, 2, 3, 4, 5]
    import json

    summary = json.loads(bt.to_json())
    assert summary["windows"] == 20 and summary["refits"] == 20 and summary["metrics"]["mae"]["ratio"] == 1.0


@pytest.mark.parametrize(
    "kw, exc, phrase",
    [
        (
            dict(initial=500),
            E.SeriesTooShortError,
            "400 rows are too few for initial=500, gap=0, horizon=5 (need at least 501)",
        ),
        (dict(step=0), E.ConfigError, "step=0 must be a whole number >= 1"),
        (dict(horizon=0), E.ConfigError, "horizon=0"),
        (dict(initial=2, model="arima"), E.SeriesTooShortError, "initial=2 training rows, but arima needs at least 10"),
        (dict(refit_every=0), E.ConfigError, "refit_every=0"),
        (dict(window="rolling"), E.ConfigError, "window='rolling'"),
        (
            dict(model=("lstm", {"horizon": 3}), initial=300),
            E.ConfigError,
            "gap + horizon = 5 steps, but lstm forecasts at most 3",
        ),
        (dict(model=42), E.ConfigError, "neither a forecaster nor a (name, params) pair"),
        (dict(model=("arima", {"order": (1, 1)})), E.ConfigError, "order=(1, 1)"),
    ],
)
def test_bad_windows_and_models(prices, kw, exc, phrase):
    args = dict(model="naive", data=prices, horizon=5, initial=300, progress=False) | kw
    with pytest.raises(exc) as info:
        walk_forward(**args)
    assert phrase in str(info.value), str(info.value)
