"""The LSTM forecaster (nbs/05c_lstm.ipynb) behind the Forecaster interface: shapes and dates, determinism,
save/load, update, horizon and parameter errors, and no TensorFlow on import. Small settings: the file runs in
well under a minute on two CPU cores."""

import subprocess
import sys
import numpy as np
import pandas as pd
import pytest
from forecast_nb.data import load
from forecast_nb.errors import ConfigError, NonPositiveValueError, SeriesTooShortError
from forecast_nb.models import Forecaster, get_model, load_model, model_for

SMALL = dict(lookback=10, horizon=5, units=8, epochs=3, batch_size=32, conformal_size=40)


@pytest.fixture(scope="module")
def aapl():
    "The last 300 trading days of Apple: fit on all but the last 5, keep those as the future."
    y = load("sample:AAPL")["close"].iloc[-300:]
    return y.iloc[:-5], y.iloc[-5:]


@pytest.fixture(scope="module")
def fitted(aapl):
    return get_model("lstm", **SMALL).fit(aapl[0])


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, forecast_nb.models.lstm, forecast_nb.models as m; m.get_model('lstm'); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_interface(fitted, aapl):
    train, future = aapl
    fc = fitted.predict(5)
    assert list(fc.columns) == ["yhat", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert (fc.index == future.index).all()  # the next NYSE trading days
    assert np.isfinite(fc.to_numpy()).all()
    assert (
        (fc["lo_95"] <= fc["lo_80"])
        & (fc["lo_80"] <= fc["yhat"])
        & (fc["yhat"] <= fc["hi_80"])
        & (fc["hi_80"] <= fc["hi_95"])
    ).all()
    assert fitted.conformal_.shape == (40, 5)
    assert (fitted.predict(3) == fc.iloc[:3]).all().all()  # h <= horizon: the first h outputs
    assert fitted.intervals == "conformal" and fitted.conformal_horizon == 5


def test_same_seed_same_forecast(fitted, aapl):
    again = get_model("lstm", **SMALL).fit(aapl[0])
    pd.testing.assert_frame_equal(again.predict(5), fitted.predict(5), check_exact=True)
    for a, b in zip(again.model_.get_weights(), fitted.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = get_model("lstm", **SMALL | {"seed": 1}).fit(aapl[0])
    assert not np.array_equal(other.predict(5)["yhat"], fitted.predict(5)["yhat"])


def test_batched_calibration_matches_base_roll(fitted, aapl):
    from forecast_nb.models.lstm import LSTM

    class RollingLSTM(LSTM):
        _calibration_errors = Forecaster._calibration_errors

    rolled = RollingLSTM(**SMALL).fit(aapl[0])
    np.testing.assert_allclose(
        rolled.conformal_, fitted.conformal_, rtol=0, atol=1e-4
    )  # NaNs in the same places; float32 batched vs one-by-one inference
    pd.testing.assert_frame_equal(rolled.predict(5), fitted.predict(5))


def test_save_load_identical(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    assert {p.name for p in (tmp_path / "m").iterdir()} == {
        "forecaster.json",
        "model.keras",
        "scalers.json",
        "state.pkl",
    }
    loaded = load_model(tmp_path / "m")
    assert type(loaded).__name__ == "LSTM" and loaded.params == fitted.params
    pd.testing.assert_frame_equal(loaded.predict(5), fitted.predict(5), check_exact=True)


def test_update_moves_origin_not_weights_and_keeps_global_rng(aapl):
    train, future = aapl
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    m = get_model("lstm", **SMALL).fit(train)
    assert np.random.rand() == expected  # seeding Keras leaves NumPy's global generator as it was
    before = m.predict(5)
    weights = [w.copy() for w in m.model_.get_weights()]
    m.update(future.iloc[:2])
    after = m.predict(3)
    assert (after.index == future.index[2:]).all()
    for a, b in zip(weights, m.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(after["yhat"].to_numpy(), before["yhat"].to_numpy()[2:])
    assert len(m.y_) == len(train) + 2


def test_predict_beyond_horizon(fitted):
    with pytest.raises(
        ConfigError, match=r"forecasts at most 5 steps \(its horizon\), not h=8.*fit with horizon >= 8"
    ) as e:
        fitted.predict(8)
    assert e.value.context["parameter"] == "h"


@pytest.mark.parametrize(
    "bad, parameter",
    [
        (dict(lookback=1), "lookback"),
        (dict(lookback="30"), "lookback"),
        (dict(horizon=0), "horizon"),
        (dict(layers=0), "layers"),
        (dict(units=2.0), "units"),
        (dict(dropout=-0.1), "dropout"),
        (dict(dropout=1), "dropout"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=float("nan")), "learning_rate"),
        (dict(batch_size=0), "batch_size"),
        (dict(epochs=True), "epochs"),
        (dict(patience=0), "patience"),
        (dict(validation_fraction=0.6), "validation_fraction"),
        (dict(seed=1.5), "seed"),
        (dict(horizon=5, conformal_horizon=6), "conformal_horizon"),
        (dict(look_back=10), "look_back"),
        (dict(intervals="native"), "intervals"),
    ],
)
def test_bad_parameters(bad, parameter):
    with pytest.raises(ConfigError, match=parameter) as e:
        get_model("lstm", **bad)
    assert e.value.context["parameter"] == parameter and e.value.hint


def test_too_short_and_bad_values(aapl):
    train = aapl[0]
    m = get_model("lstm", **SMALL)
    assert m.min_train == 10 + 5 + 10 + 40  # look-back, horizon, 10 training windows; the calibration rows
    with pytest.raises(SeriesTooShortError, match="the LSTM cannot be trained on 60 rows with horizon 5") as e:
        m.fit(train.iloc[:60])
    assert e.value.context["rows"] == 60 and "at least 65" in str(e.value)
    with pytest.raises(SeriesTooShortError, match=r"give \d+ training window"):
        m._fit(train.iloc[: m._smallest()[0] - 1], None)  # the guard behind min_train
    with pytest.raises(NonPositiveValueError, match="log=True"):
        get_model("lstm", **SMALL | {"log": True}).fit(train - 200)


def test_log_scale(aapl):
    """The base class's log=True: the LSTM works on log prices;
    forecasts and intervals come back positive, near the last price."""
    train, _ = aapl
    fc = get_model("lstm", **SMALL, log=True).fit(train).predict(5)
    assert (fc["lo_95"] > 0).all() and (fc["yhat"] / train.iloc[-1]).between(0.8, 1.25).all()


def test_X_is_read_only_over_the_window(aapl):
    from forecast_nb.features import FeatureSpec, build_features, design_matrix
    from forecast_nb.prep import exog_future

    df = load("sample:AAPL").iloc[-300:]
    spec = FeatureSpec(indicators={"rsi": {"timeperiod": 14}}, calendar=True)
    X, y = design_matrix(build_features(df.iloc[:-5], spec), df["close"].iloc[:-5], horizon=5)
    m = get_model("lstm", **SMALL).fit(y, X)
    assert m.model_.get_weights()[0].shape[0] == 1 + X.shape[1]
    Xf = exog_future(df.iloc[:-5], spec, 5)
    garbage = pd.DataFrame(-1e6, index=Xf.index, columns=Xf.columns)
    garbage.attrs = Xf.attrs
    pd.testing.assert_frame_equal(m.predict(5, garbage), m.predict(5, Xf))
    pd.testing.assert_frame_equal(m.predict(5), m.predict(5, Xf))  # no X_future needed: X is read up to the origin


def months(n):
    "A trending monthly series with a yearly cycle, like the M3 competition's monthly business series."
    t = np.arange(n)
    noise = np.random.default_rng(n).normal(0, 2, n)
    return pd.Series(
        100 + t + 10 * np.sin(2 * np.pi * t / 12) + noise, pd.date_range("2000-01-01", periods=n, freq="MS")
    )


def test_sized_for_short_monthly_series():
    "h=18 as in M3: 60 months are refused in plain words, 126 fit a small network quickly, min_train is exact."
    m = model_for("lstm", 18)
    assert (m.params["horizon"], m.conformal_horizon, m.params["lookback"]) == (18, 18, None)
    with pytest.raises(
        SeriesTooShortError, match=r"cannot be trained on 60 rows with horizon 18: it needs at least 63"
    ):
        m.fit(months(60))
    fc = model_for("lstm", 18).fit(months(m.min_train)).predict(18)  # exactly min_train rows: fits
    assert len(fc) == 18 and np.isfinite(fc.to_numpy()).all()
    big = model_for("lstm", 18).fit(months(126))
    assert (big.lookback_, big.validation_fraction_, big.conformal_.shape) == (22, 0.0, (42, 18))
    assert len(big.predict(18)) == 18


def test_model_for_keeps_what_the_user_gives():
    from forecast_nb.models.lstm import LSTM

    assert LSTM.for_horizon(5, horizon=10).conformal_horizon == 5
    assert LSTM.for_horizon(5, lookback=8).params["lookback"] == 8
    assert LSTM.for_horizon(5, conformal_horizon=3).conformal_horizon == 3
