"""Prophet behind the Forecaster interface: round trip, intervals, save/load, warm-started update, regressors,
bad input."""

import copy
import logging
import subprocess
import sys
import time
import numpy as np
import pandas as pd
import pytest
from forecast_nb.data import load
from forecast_nb.errors import ConfigError, FeatureError
from forecast_nb.features import FeatureSpec, build_features, design_matrix
from forecast_nb.models import get_model, load_model
from forecast_nb.freq import future_index
from forecast_nb.prep import exog_future

pytest.importorskip("prophet")
H = 10


@pytest.fixture(scope="module")
def aapl():
    return load("sample:AAPL")


@pytest.fixture(scope="module")
def y10(aapl):
    "Ten years of trading days (2,520 rows), the size the speed target is set for."
    return aapl["close"].iloc[-2520:]


@pytest.fixture(scope="module")
def fitted(y10):
    return get_model("prophet").fit(y10.iloc[:-H])


@pytest.fixture(scope="module")
def with_calendar(aapl):
    "A model with the calendar features as regressors, its history, spec and future design rows."
    df, spec = aapl.iloc[-1000:], FeatureSpec(calendar=True)
    hist = df.iloc[:-H]
    X, y = design_matrix(build_features(hist, spec), hist["close"], horizon=H)
    return get_model("prophet").fit(y, X), df, hist, spec, exog_future(hist, spec, H)


def test_round_trip_on_trading_days(fitted, y10):
    fc = fitted.predict(H)
    assert list(fc.columns) == ["yhat", "lo_80", "hi_80", "lo_95", "hi_95"]
    pd.testing.assert_index_equal(fc.index, y10.index[-H:], check_names=False)  # the next NYSE trading days
    assert fc.index[0] == pd.Timestamp("2013-02-15")  # the day after Thu 2013-02-14
    assert (fc.index.dayofweek < 5).all() and pd.Timestamp("2013-02-18") not in fc.index  # Presidents' Day: NYSE closed
    assert np.isfinite(fc.to_numpy()).all()
    assert fitted.model_.history["ds"].iloc[-1] == y10.index[-H - 1]


def test_intervals_nested_and_deterministic(fitted):
    fc = fitted.predict(H, level=(50, 80, 95, 99))
    for inner, outer in [(50, 80), (80, 95), (95, 99)]:
        assert (fc[f"lo_{outer}"] < fc[f"lo_{inner}"]).all() and (fc[f"hi_{inner}"] < fc[f"hi_{outer}"]).all()
    assert ((fc.lo_50 < fc.yhat) & (fc.yhat < fc.hi_50)).all()
    assert (fc.hi_95 - fc.lo_95).iloc[-1] > (fc.hi_95 - fc.lo_95).iloc[0]
    pd.testing.assert_frame_equal(fitted.predict(H, level=(50, 80, 95, 99)), fc)  # seeded
    assert list(fitted.predict(3, level=()).columns) == ["yhat"]


def test_seed_none_draws_anew_but_keeps_yhat(y10):
    m = get_model("prophet", seed=None, uncertainty_samples=200).fit(y10.iloc[-500:])
    a, b = m.predict(5), m.predict(5)
    pd.testing.assert_series_equal(a.yhat, b.yhat)
    assert not np.allclose(a.hi_95, b.hi_95)


def test_save_load_identical(with_calendar, tmp_path):
    m, df, hist, spec, Xf = with_calendar
    m.save(tmp_path / "p")
    assert (tmp_path / "p" / "prophet.json").exists()
    back = load_model(tmp_path / "p")
    assert type(back) is type(m) and back.get_params() == m.get_params()
    pd.testing.assert_frame_equal(back.predict(H, Xf), m.predict(H, Xf))
    pd.testing.assert_frame_equal(back.predict(1, Xf.iloc[:1]), m.predict(1, Xf.iloc[:1]))
    # a loaded model updates (warm start from the saved parameters) exactly like the original
    X_all, y_all = design_matrix(build_features(df, spec), df["close"], horizon=H)
    orig = copy.deepcopy(m)
    for model in (orig, back):
        model.update(y_all.iloc[-H : -H + 3], X_all.iloc[-H : -H + 3])
    X3 = exog_future(df.iloc[: -H + 3], spec, 4)
    pd.testing.assert_frame_equal(back.predict(4, X3), orig.predict(4, X3))


def test_update_is_warm_refit_and_faster(fitted, y10):
    from prophet import Prophet as RawProphet
    from forecast_nb.models.prophet import warm_start_params

    init = warm_start_params(fitted.model_)
    cold_s, warm_s = [], []
    for _ in range(3):  # interleaved, so machine load hits both alike
        t = time.perf_counter()
        cold = get_model("prophet").fit(y10)
        cold_s.append(time.perf_counter() - t)
        m = copy.deepcopy(fitted)
        t = time.perf_counter()
        m.update(y10.iloc[-H:])
        warm_s.append(time.perf_counter() - t)
    ratio = min(warm_s) / min(cold_s)
    print(f"cold fit {min(cold_s):.3f} s, warm update {min(warm_s):.3f} s, ratio {ratio:.2f}")
    assert ratio < 1.0, (cold_s, warm_s)
    # the update is Prophet's documented warm start on the full history, nothing else
    raw = RawProphet().fit(pd.DataFrame({"ds": y10.index, "y": y10.to_numpy()}), init=init)
    expected = raw.predict(pd.DataFrame({"ds": future_index(y10.index, 5)}))["yhat"].to_numpy()
    np.testing.assert_array_equal(m.predict(5, level=()).yhat.to_numpy(), expected)
    pd.testing.assert_index_equal(m.predict(5).index, future_index(y10.index, 5))
    # and lands near the cold refit's optimum
    np.testing.assert_allclose(m.predict(5).yhat, cold.predict(5).yhat, rtol=0.01)


def test_calendar_regressors(with_calendar):
    m, df, hist, spec, Xf = with_calendar
    assert (
        list(m.model_.extra_regressors)
        == list(Xf.columns)
        == ["cal_dayofweek", "cal_month", "cal_quarter", "cal_dayofyear", "cal_month_end"]
    )
    fc = m.predict(H, Xf)
    pd.testing.assert_index_equal(fc.index, df.index[-H:], check_names=False)
    assert ((fc.lo_95 < fc.yhat) & (fc.yhat < fc.hi_95)).all()
    changed = Xf.copy()
    changed["cal_month_end"] = 1 - changed["cal_month_end"]
    assert not np.allclose(m.predict(H, changed).yhat, fc.yhat)  # the regressors are used


def test_predict_without_features_raises(with_calendar):
    m, df, hist, spec, Xf = with_calendar
    with pytest.raises(FeatureError, match="fit with 5 feature"):
        m.predict(H)
    with pytest.raises(FeatureError, match="columns differ"):
        m.predict(H, Xf.drop(columns="cal_month"))


BAD = [
    ({"growth": "logistic"}, "growth"),
    ({"growth": "cubic"}, "growth"),
    ({"changepoint_prior_scale": -0.1}, "changepoint_prior_scale"),
    ({"changepoint_prior_scale": "0.05"}, "changepoint_prior_scale"),
    ({"seasonality_prior_scale": 0}, "seasonality_prior_scale"),
    ({"holidays_prior_scale": float("nan")}, "holidays_prior_scale"),
    ({"seasonality_mode": "both"}, "seasonality_mode"),
    ({"changepoint_range": 0}, "changepoint_range"),
    ({"n_changepoints": -1}, "n_changepoints"),
    ({"n_changepoints": True}, "n_changepoints"),
    ({"yearly_seasonality": "on"}, "yearly_seasonality"),
    ({"weekly_seasonality": -3}, "weekly_seasonality"),
    ({"daily_seasonality": 1.5}, "daily_seasonality"),
    ({"country_holidays": "Narnia"}, "country_holidays"),
    ({"country_holidays": 7}, "country_holidays"),
    ({"uncertainty_samples": 10.5}, "uncertainty_samples"),
    ({"seed": -1}, "seed"),
    ({"mcmc_samples": 300}, "mcmc_samples"),
]


@pytest.mark.parametrize("params,name", BAD, ids=[f"{n}={v!r}" for (p, n) in BAD for v in p.values()])
def test_bad_parameters(params, name):
    with pytest.raises(ConfigError) as info:
        get_model("prophet", **params)
    assert info.value.context["parameter"] == name and name in str(info.value)
    assert " -> " in str(info.value), "every message says what to do"


def test_intervals_need_samples(y10):
    m = get_model("prophet", uncertainty_samples=0).fit(y10.iloc[-300:])
    with pytest.raises(ConfigError) as info:
        m.predict(5)
    assert info.value.context["parameter"] == "uncertainty_samples"
    assert len(m.predict(5, level=())) == 5


def test_conformal_intervals_roll_with_update(y10):
    m = get_model("prophet", intervals="conformal", conformal_size=12, conformal_horizon=5).fit(y10.iloc[-400:])
    assert m.conformal_.shape == (12, 5) and len(m.y_) == 400
    fc = m.predict(5)
    assert ((fc.lo_95 <= fc.lo_80) & (fc.hi_80 <= fc.hi_95)).all()


def test_country_holidays(aapl, tmp_path):
    y = aapl["close"].iloc[-500:]
    m = get_model("prophet", country_holidays="US").fit(y)
    assert "Columbus Day" in set(m.model_.train_holiday_names)  # a US holiday on which NYSE trades
    pd.testing.assert_frame_equal(load_model(m.save(tmp_path / "h")).predict(5), m.predict(5))


def test_import_does_not_import_prophet():
    code = "import sys, forecast_nb.models.prophet; print('prophet' in sys.modules, 'cmdstanpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_fit_is_quiet():
    """No cmdstanpy progress lines, no 'Importing plotly failed', on a plain console
    (a fresh process, no pytest log capture)."""
    code = (
        "from forecast_nb.data import load; from forecast_nb.models import get_model; "
        "get_model('prophet').fit(load('sample:AAPL')['close'].iloc[-300:]).predict(3); print('done')"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "done"
    assert "cmdstanpy" not in run.stderr and "Chain" not in run.stderr and "plotly" not in run.stderr, run.stderr


def test_fit_logs_nothing_below_warning(y10, caplog):
    caplog.set_level(logging.DEBUG)
    get_model("prophet").fit(y10.iloc[-300:]).predict(3)
    chatter = [
        r for r in caplog.records if r.name.split(".")[0] in ("cmdstanpy", "prophet") and r.levelno < logging.WARNING
    ]
    assert not chatter, [r.getMessage() for r in chatter]


def test_anchor_update_keeps_parameters_and_follows_the_level(tmp_path):
    from forecast_nb.models import load_model

    y = load("sample:AAPL")["close"].iloc[-600:]
    m = get_model("prophet", update_mode="anchor").fit(y.iloc[:-20])
    params = {k: np.array(v).copy() for k, v in m.model_.params.items()}
    m.update(y.iloc[-20:-10])
    assert all(np.array_equal(params[k], np.array(v)) for k, v in m.model_.params.items())  # no refit
    fc = m.predict(5)
    assert fc.index[0] == y.index[-10]
    assert abs(fc["yhat"].iloc[0] - y.iloc[-11]) < abs(
        get_model("prophet").fit(y.iloc[:-20]).predict(15)["yhat"].iloc[10] - y.iloc[-11]
    )
    m.save(tmp_path / "p")
    pd.testing.assert_frame_equal(load_model(tmp_path / "p").predict(5), fc)


def _monthly(n, freq="MS"):
    t = np.arange(n)
    return pd.Series(
        50 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(n).normal(0, 1, n),
        pd.date_range("2000-01-01", periods=n, freq=freq),
    )


@pytest.mark.parametrize(
    "freq, n, expected",
    [
        ("MS", 60, {"yearly": 6, "weekly": False, "daily": False}),  # monthly: yearly of order m/2, nothing finer
        ("QS", 40, {"yearly": 2, "weekly": False, "daily": False}),
        ("MS", 18, {"yearly": False, "weekly": False, "daily": False}),  # under two years: no season to fit
    ],
)
def test_seasonalities_from_frequency_and_length(freq, n, expected):
    m = get_model("prophet", uncertainty_samples=0).fit(_monthly(n, freq))
    assert m.seasonalities_ == expected
    assert {k: v["fourier_order"] for k, v in m.model_.seasonalities.items()} == {
        k: v for k, v in expected.items() if v
    }
    assert np.isfinite(m.predict(18, level=()).yhat).all()


def test_given_seasonalities_win_and_stay_on_update():
    y = _monthly(60)
    m = get_model("prophet", yearly_seasonality=10, weekly_seasonality=True, uncertainty_samples=0).fit(y.iloc[:-6])
    assert m.seasonalities_ == {"yearly": 10, "weekly": True, "daily": False}
    short = get_model("prophet", uncertainty_samples=0).fit(y.iloc[:20])  # no yearly season yet
    short.update(y.iloc[20:30])  # 30 months now, but a warm start keeps the first fit's shape
    assert short.seasonalities_["yearly"] is False and "yearly" not in short.model_.seasonalities
