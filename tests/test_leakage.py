"""The leakage guarantee as property tests: garbage after the origin never changes what is used to forecast from it."""

import logging
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from forecast_nb import errors as E
from forecast_nb.features import FeatureSpec, build_features, check_no_leakage, design_matrix, perturb_after
from forecast_nb.prep import Scaler, exog_future, make_windows

EVERY_FEATURE = FeatureSpec(
    indicators={
        "rsi": {"timeperiod": 7},
        "macd": {},
        "bbands": {"timeperiod": 10},
        "atr": {},
        "obv": {},
        "stoch": {},
        "adx": {"timeperiod": 7},
        "roc": {},
        "sma": {"timeperiod": 10},
        "ema": {"timeperiod": 10},
        "log_return": {"period": 2},
        "volatility": {"window": 10},
        "cci": {},
        "willr": {},
    },
    lags=[0, 1, 3],
    lag_columns=["volume"],
    windows=[3, 10],
    expanding=True,
    diffs=[1, 2],
    returns=[1, 3],
    calendar=True,
    holidays="US",
    decomposition="stl",
)


def ohlcv(n, seed, freq="B"):
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    spread = np.abs(rng.normal(0, 0.01, n)) * close
    df = pd.DataFrame(
        {
            "open": close * (1 + rng.normal(0, 0.005, n)),
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.integers(100, 10_000, n).astype(float),
        },
        index=pd.date_range("2001-01-01", periods=n, freq=freq, name="date"),
    )
    df.attrs["target"] = "close"
    return df


series = st.builds(
    lambda n, seed, freq: ohlcv(n, seed, freq),
    st.integers(80, 300),
    st.integers(0, 10**6),
    st.sampled_from(["B", "D", "MS", "h"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series, st.floats(0.05, 0.98), st.integers(1, 20))
def test_no_feature_or_design_row_sees_the_future(df, where, horizon):
    origin = int(where * (len(df) - 1))
    check_no_leakage(df, EVERY_FEATURE, origin, horizon)


@settings(max_examples=40, deadline=None)
@given(series, st.floats(0.3, 0.95), st.integers(1, 10))
def test_forecast_time_exog_equals_training_rows(df, where, horizon):
    "Features for the horizon, made from history alone, equal the training design rows for those dates."
    spec = FeatureSpec(
        indicators={"rsi": {"timeperiod": 5}, "bbands": {"timeperiod": 5}},
        lags=[0, 2],
        windows=[4],
        returns=[1],
        calendar=True,
    )
    t = int(where * (len(df) - horizon - 1))
    fut = exog_future(df.iloc[: t + 1], spec, horizon)
    train_rows = design_matrix(build_features(df, spec), horizon=horizon, dropna=False).iloc[t + 1 : t + 1 + horizon]
    pd.testing.assert_frame_equal(fut, train_rows, check_freq=False)


@settings(max_examples=40, deadline=None)
@given(series, st.floats(0.3, 0.9), st.integers(2, 30), st.integers(1, 10), st.sampled_from(["noise", "nan", "huge"]))
def test_lstm_windows_inputs_end_at_their_origin(df, where, lookback, horizon, kind):
    origin = max(int(where * (len(df) - 1)), lookback - 1)
    cols = ["close", "volume"]
    x_scaler, y_scaler = (
        Scaler().fit(df[cols].iloc[: origin + 1]),
        Scaler().fit(df["close"].iloc[: origin + 1]),
    )  # training part only

    def make(d):
        return make_windows(x_scaler.transform(d[cols]), y_scaler.transform(d["close"]), lookback, horizon)

    clean, dirty = make(df), make(perturb_after(df, origin, kind))
    upto = int(np.searchsorted(clean.origins, df.index[origin], side="right"))  # windows with origin <= t
    np.testing.assert_array_equal(clean.X[:upto], dirty.X[:upto])
    pos = df.index.get_indexer(clean.origins)
    assert (pos >= lookback - 1).all() and (pos + horizon < len(df)).all()  # labels lie strictly after each origin


@pytest.mark.parametrize(
    "name, leaky, origin",
    [
        ("centred window", lambda d: pd.DataFrame({"x": d["close"].rolling(5, center=True).mean()}), 120),
        ("back-filled warm-up", lambda d: pd.DataFrame({"x": d["close"].rolling(20).mean().bfill()}), 10),
        ("global z-score", lambda d: pd.DataFrame({"x": (d["close"] - d["close"].mean()) / d["close"].std()}), 120),
        ("negative shift", lambda d: pd.DataFrame({"x": d["close"].shift(-1)}), 120),
    ],
)
def test_the_check_catches_leaky_features(name, leaky, origin):
    "Negative controls: the check can fail, and does for the classic mistakes."
    with pytest.raises(E.LeakageError, match="feature\\(s\\) \\['x'\\]"):
        check_no_leakage(ohlcv(200, 1), leaky, origin=origin, horizon=3)


def test_design_matrix_refuses_short_shift_and_logs_warmup(caplog):
    df = ohlcv(200, 2)
    X = build_features(df, FeatureSpec(indicators={"rsi": {}}, lags=[1], calendar=True))
    with pytest.raises(E.LeakageError, match="'rsi_14' shifted by 2 for a 5-step-ahead model"):
        design_matrix(X, df["close"], horizon=5, shift=2)
    with caplog.at_level(logging.INFO, logger="forecast_nb.features"):
        Xd, yd = design_matrix(X, df["close"], horizon=5, shift=7)
    assert "dropped 21 warm-up row(s)" in caplog.text  # RSI(14) warm-up + shift of 7
    assert len(Xd) == len(yd) == 179 and (Xd.index == yd.index).all()
    only_known, _ = design_matrix(X[["cal_month"]], df["close"], horizon=5, shift=0)  # calendar alone needs no shift
    assert len(only_known) == 200
