"""ARIMA: correctness that means something (coefficients, interval coverage, unit-root rates), features, updates."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.arima_process import ArmaProcess
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.features import FeatureSpec, build_features, design_matrix
from forecast_nb.models import get_model, load_model
from forecast_nb.models.arima import ndiffs
from forecast_nb.prep import exog_future

ARMA = ArmaProcess(ar=[1, -0.6, 0.25], ma=[1, 0.4])


def test_95_percent_interval_covers_95_percent_of_simulated_futures():
    "200 independent ARMA(2,1) paths: fit on 300 points, check the 10 next true values against the intervals."
    hits80, hits95, n = 0, 0, 0
    for seed in range(200):
        x = ARMA.generate_sample(310, distrvs=np.random.default_rng(seed).standard_normal)
        y = pd.Series(x[:300], index=pd.date_range("2001-01-01", periods=300, freq="D"))
        fc = get_model("arima", order=(2, 0, 1)).fit(y).predict(10)
        future = x[300:]
        hits95 += ((future >= fc["lo_95"]) & (future <= fc["hi_95"])).sum()
        hits80 += ((future >= fc["lo_80"]) & (future <= fc["hi_80"])).sum()
        n += 10
    assert abs(hits95 / n - 0.95) < 0.025, hits95 / n
    assert abs(hits80 / n - 0.80) < 0.04, hits80 / n


def test_unit_root_rates():
    walks = [ndiffs(np.cumsum(np.random.default_rng(s).normal(size=400))) for s in range(40)]
    noise = [ndiffs(np.random.default_rng(100 + s).normal(size=400)) for s in range(40)]
    assert np.mean(np.array(walks) == 1) >= 0.8 and np.mean(np.array(noise) == 0) >= 0.85


def test_warnings_are_collected_not_printed(recwarn):
    y = pd.Series(
        np.r_[np.zeros(50), np.ones(50)] + np.random.default_rng(0).normal(0, 1e-3, 100),
        index=pd.date_range("2020-01-01", periods=100, freq="D"),
    )
    m = get_model("arima", max_models=8).fit(y)
    assert len(recwarn) == 0
    assert isinstance(m.fit_warnings_, dict)


@pytest.fixture(scope="module")
def aapl():
    return load("sample:AAPL")


def test_exogenous_features_through_the_design_matrix(aapl):
    spec = FeatureSpec(indicators={"rsi": {}}, lags=[0], calendar=True)
    hist = aapl.iloc[:-5]
    X, y = design_matrix(build_features(hist, spec), hist["close"], horizon=5)
    m = get_model("arima", order=(1, 1, 1)).fit(y, X)
    fc = m.predict(5, X_future=exog_future(hist, spec, 5))
    assert (fc.index == aapl.index[-5:]).all() and fc["yhat"].notna().all()
    with pytest.raises(E.FeatureError, match="fit with 7 feature\\(s\\) but none are given"):
        m.predict(5)
    with pytest.raises(E.LeakageError, match="shifted by 5, so it can forecast at most 5 steps ahead, not 6"):
        m.predict(6, X_future=exog_future(hist, spec, 6))
    with pytest.raises(E.FeatureError, match="carries no feature types"):
        get_model("arima", order=(1, 1, 1)).fit(y, pd.DataFrame(X.to_numpy(), index=X.index, columns=X.columns))


def test_update_filters_without_refit_and_save_load(aapl, tmp_path):
    y = aapl["close"]
    m = get_model("arima", order=(1, 1, 1), trend="c").fit(y.iloc[:-30])
    params = m.res_.params.copy()
    for i in range(30, 0, -10):
        m.update(y.iloc[-i : -i + 10 if i > 10 else None])
    np.testing.assert_array_equal(m.res_.params, params)
    assert m.predict(1).index[0] > y.index[-1]
    m.save(tmp_path / "arima")
    pd.testing.assert_frame_equal(load_model(tmp_path / "arima").predict(7), m.predict(7))


@pytest.mark.parametrize(
    "params, phrase",
    [
        ({"order": (1, -1, 1)}, "order=(1, -1, 1) must be 3 whole numbers"),
        ({"seasonal_order": (1, 1, 1)}, "seasonal_order=(1, 1, 1) must be 4 whole numbers"),
        ({"seasonal": "yes"}, "seasonal='yes'"),
        ({"p": 2}, "arima has no parameter(s) ['p']"),
    ],
)
def test_bad_parameters(params, phrase):
    with pytest.raises(
        E.ConfigError, match=phrase.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")
    ):
        get_model("arima", **params)


def test_seasonal_search_rule(aapl):
    "Monthly data searches seasonal orders; trading days (no weekly season in prices) do not, as before the rule."
    from forecast_nb.models.arima import ARIMA

    co2 = load("sample:CO2")["co2"].iloc[-120:]
    assert ARIMA()._period(co2) == 12 and ARIMA()._period(co2.iloc[-30:]) == 1  # 'auto' wants three seasons
    assert ARIMA(seasonal=True)._period(co2.iloc[-30:]) == 12 and ARIMA(seasonal=False)._period(co2) == 1
    y = aapl["close"].iloc[-300:]
    auto = get_model("arima").fit(y)
    assert auto.period_ == 1 and auto.seasonal_order_ == (0, 0, 0, 0)
    pd.testing.assert_frame_equal(auto.predict(5), get_model("arima", seasonal=False).fit(y).predict(5))
    weekly = pd.Series(np.random.default_rng(0).normal(size=200), pd.date_range("2020-01-05", periods=200, freq="W"))
    assert ARIMA()._period(weekly) == 1 and ARIMA(seasonal=True)._period(weekly) == 52
