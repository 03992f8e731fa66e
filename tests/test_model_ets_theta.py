"""ETS and Theta: the same forecasts as statsmodels called directly, updates without refits, save/load, intervals that
cover, clear errors, and every kind of regular series (monthly, quarterly, business days, no season)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.forecasting.theta import ThetaModel, ThetaModelResults
from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.models import get_model, load_model, model_for
from forecast_nb.models.ets import ets_forms, ets_model, select_form
from forecast_nb.tuning import grid_space


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    "statsmodels called directly runs as the models run it: one BLAS thread (more only contend on small matrices)."
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def co2():
    return load("sample:CO2")["co2"]


@pytest.fixture(scope="module")
def ets_co2(co2):
    return get_model("ets").fit(co2.iloc[-132:-12])


# --- against statsmodels ---------------------------------------------------------------------------------------------


def test_ets_forecasts_and_intervals_are_statsmodels_for_the_chosen_form(co2, ets_co2):
    train = co2.iloc[-132:-12]
    fc = ets_co2.predict(12, level=(80, 95))
    res = ets_model(train, ets_co2.form_).fit(disp=False)
    np.testing.assert_allclose(fc["yhat"], res.forecast(12), rtol=0, atol=1e-9)
    pred = res.get_prediction(120, 131, rng=np.random.default_rng(0))  # the default seed and repetitions
    np.testing.assert_allclose(fc[["lo_95", "hi_95"]], pred.pred_int(alpha=0.05), atol=1e-9)
    np.testing.assert_allclose(fc[["lo_80", "hi_80"]], pred.pred_int(alpha=0.2), atol=1e-9)
    table = ets_co2.search_table_
    assert table["form"].iloc[0] == str(ets_co2).split()[0] and table["aicc"].iloc[0] == pytest.approx(res.aicc)
    assert (table["aicc"].iloc[1:] >= res.aicc).all() and len(table) == 15


@pytest.mark.parametrize("ic", ["aic", "aicc", "bic"])
def test_the_criterion_of_the_search_is_statsmodels(co2, ic):
    m = get_model("ets", ic=ic, trend="add", seasonal="add").fit(co2.iloc[-100:])
    assert m.search_table_[ic].iloc[0] == pytest.approx(getattr(m.res_, ic), rel=1e-12)
    assert m.summary()[ic] == round(float(getattr(m.res_, ic)), 2)


@pytest.mark.parametrize(
    "params, form",
    [
        ({"error": "add", "trend": None, "seasonal": None}, "ETS(A,N,N)"),
        ({"error": "add", "trend": "add", "damped_trend": True, "seasonal": "add"}, "ETS(A,Ad,A)"),
        ({"error": "mul", "trend": "add", "damped_trend": False, "seasonal": "mul"}, "ETS(M,A,M)"),
    ],
)
def test_ets_with_a_fixed_form_fits_exactly_that_form(co2, params, form):
    train = co2.iloc[-100:]
    m = get_model("ets", **params).fit(train)
    assert str(m).split()[0] == form and len(m.search_table_) == 1
    spec = {"damped_trend": False} | params | {"seasonal_periods": 12 if params["seasonal"] else None}
    np.testing.assert_allclose(m.predict(6)["yhat"], ets_model(train, spec).fit(disp=False).forecast(6), atol=1e-9)


def test_fixed_parameters_restrict_the_search(co2):
    m = get_model("ets", trend="add", damped_trend=True, seasonal=None).fit(co2.iloc[-100:])
    assert sorted(m.search_table_["form"]) == ["ETS(A,Ad,N)", "ETS(M,Ad,N)"]
    m = get_model("ets", seasonal="mul").fit(co2.iloc[-100:])  # restrict: no additive error with it
    assert set(m.search_table_["form"]) == {"ETS(M,N,M)", "ETS(M,A,M)", "ETS(M,Ad,M)"}


def test_theta_forecasts_are_statsmodels_and_intervals_thetaf(co2):
    train = co2.iloc[-132:-12]
    m = get_model("theta").fit(train)
    fc = m.predict(12, level=(80,))
    res = ThetaModel(train.to_numpy(), period=12).fit()
    np.testing.assert_allclose(fc["yhat"], res.forecast(12), atol=1e-9)
    # SES on the deseasonalised series: variance sigma2 (1 + (h - 1) alpha^2), scaled by the seasonal factor
    x = train.to_numpy() / res._seasonal[np.arange(120) % 12]
    level, errors = x[0], []
    for v in x[1:]:
        errors.append(v - level)
        level += res._alpha * errors[-1]
    sigma2 = np.sum(np.square(errors)) / (len(errors) - 1)
    sd = np.sqrt(sigma2 * (1 + np.arange(12) * res._alpha**2)) * res._seasonal[np.arange(120, 132) % 12]
    np.testing.assert_allclose(fc["hi_80"] - fc["yhat"], 1.2815515655446004 * sd, rtol=1e-9)
    assert m.summary()["deseasonalised"] == "multiplicative"
    m3 = get_model("theta", theta=3.0, method="additive", use_mle=True).fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res3 = ThetaModel(train.to_numpy(), period=12, method="additive").fit(use_mle=True)
    np.testing.assert_allclose(m3.predict(6)["yhat"], res3.forecast(6, theta=3.0), atol=1e-9)
    assert m3.summary()["deseasonalised"] == "additive"


# --- update, save and load -------------------------------------------------------------------------------------------


def test_ets_update_is_the_fitted_model_run_over_the_longer_series(co2, ets_co2):
    m = get_model("ets").fit(co2.iloc[-132:-12])
    params, bse = np.asarray(m.res_.params).copy(), m.res_.bse.to_numpy()
    m.update(co2.iloc[-12:-6]).update(co2.iloc[-6:])
    np.testing.assert_array_equal(m.res_.params, params)
    np.testing.assert_array_equal(m.res_.bse, bse)  # the Hessian is not recomputed: the fit's covariance is kept
    assert "hessian" not in vars(m.res_.model)
    full = ets_model(co2.iloc[-132:], m.form_).smooth(params)
    np.testing.assert_allclose(m.predict(8)["yhat"], full.forecast(8), atol=1e-9)
    assert m.predict(1).index[0] == co2.index[-1] + pd.offsets.MonthBegin()
    assert (m.predict(1)["yhat"] != ets_co2.predict(13)["yhat"].iloc[-1]).all()  # the new rows moved the states


def test_theta_update_is_the_fitted_method_run_over_the_longer_series(co2):
    m = get_model("theta").fit(co2.iloc[-132:-12])
    r0, sigma2, fc0 = m.res_, m.sigma2_, m.predict(20)
    for i in range(12, 0, -4):
        m.update(co2.iloc[-i : -i + 4 if i > 4 else None])
    r = m.res_
    assert (r._alpha, r._b0, m.sigma2_) == (r0._alpha, r0._b0, sigma2) and r._nobs == 132
    longer = co2.iloc[-132:].to_numpy()
    x = longer / r._seasonal[np.arange(132) % 12]
    ses = ExponentialSmoothing(x, initial_level=x[0], initialization_method="known").smooth([r._alpha])
    ref = ThetaModelResults(r._b0, r._alpha, None, ses.forecast(1), r._seasonal, False, ThetaModel(longer, period=12))
    fc = m.predict(8)
    np.testing.assert_allclose(fc["yhat"], ref.forecast(8), atol=1e-9)
    half, half0 = (fc["hi_95"] - fc["yhat"]).to_numpy(), (fc0["hi_95"] - fc0["yhat"]).to_numpy()
    np.testing.assert_allclose(half, half0[:8], rtol=1e-9)  # same alpha, sigma2 and factors: the same band widths


def test_theta_update_without_a_season_and_with_mle():
    y = pd.Series(
        np.cumsum(np.random.default_rng(3).normal(0.5, 1, 60)) + 50, index=pd.date_range("1950", periods=60, freq="YS")
    )
    m = get_model("theta").fit(y.iloc[:-5])
    m.update(y.iloc[-5:])
    r = m.res_
    ses = ExponentialSmoothing(y.to_numpy(), initial_level=y.iloc[0], initialization_method="known").smooth([r._alpha])
    ref = ThetaModelResults(
        r._b0, r._alpha, None, ses.forecast(1), np.empty(0), False, ThetaModel(y.to_numpy(), deseasonalize=False)
    )
    np.testing.assert_allclose(m.predict(4)["yhat"], ref.forecast(4), atol=1e-9)
    mle = get_model("theta", use_mle=True).fit(y.iloc[:-5]).update(y.iloc[-5:])  # refits: the ARIMA form's recursion
    np.testing.assert_allclose(mle.predict(4)["yhat"], get_model("theta", use_mle=True).fit(y).predict(4)["yhat"])


def test_theta_update_with_mle_refits_and_keeps_the_season(co2):
    m = get_model("theta", use_mle=True).fit(co2.iloc[-100:-6]).update(co2.iloc[-6:])
    assert m.period_ == 12 and m.deseasonalised() == "multiplicative"
    pd.testing.assert_frame_equal(m.predict(6), get_model("theta", use_mle=True).fit(co2.iloc[-100:]).predict(6))


@pytest.mark.parametrize("name, params", [("ets", {}), ("ets", {"error": "mul", "seasonal": "mul"}), ("theta", {})])
def test_save_load_gives_identical_forecasts(co2, tmp_path, name, params):
    m = get_model(name, **params).fit(co2.iloc[-100:-3])
    m.save(tmp_path / name)
    loaded = load_model(tmp_path / name)
    pd.testing.assert_frame_equal(loaded.predict(12), m.predict(12))
    assert str(loaded) == str(m) and loaded.get_params() == m.get_params()
    pd.testing.assert_frame_equal(loaded.update(co2.iloc[-3:]).predict(4), m.update(co2.iloc[-3:]).predict(4))


# --- intervals -------------------------------------------------------------------------------------------------------


def _local_level(seed, n=132, alpha=0.3):
    "ETS(A,N,N): y_t = l_{t-1} + e_t, l_t = l_{t-1} + alpha e_t, on a yearly grid (no season)."
    e = np.random.default_rng(seed).normal(size=n)
    level, y = 10.0, np.empty(n)
    for t in range(n):
        y[t] = level + e[t]
        level += alpha * e[t]
    return pd.Series(y, index=pd.date_range("1800", periods=n, freq="YS"))


@pytest.mark.parametrize("name, params", [("ets", {"error": "add", "trend": None, "seasonal": None}), ("theta", {})])
def test_intervals_widen_with_the_step_and_cover_simulated_futures(name, params):
    hits = {80: 0, 95: 0}
    for seed in range(120):
        y = _local_level(seed)
        fc = get_model(name, **params).fit(y.iloc[:-12]).predict(12)
        width = fc["hi_95"] - fc["lo_95"]
        assert (np.diff(width) > 0).all() and (fc["hi_80"] - fc["lo_80"] < width).all()
        for lv in hits:
            hits[lv] += ((y.iloc[-12:] >= fc[f"lo_{lv}"]) & (y.iloc[-12:] <= fc[f"hi_{lv}"])).sum()
    coverage = {lv: h / (120 * 12) for lv, h in hits.items()}
    assert abs(coverage[95] - 0.95) < 0.05 and abs(coverage[80] - 0.80) < 0.08, coverage


def test_simulated_intervals_are_seeded(co2):
    y = co2.iloc[-100:]
    a = get_model("ets", error="mul", trend=None, seasonal="mul").fit(y).predict(12)
    b = get_model("ets", error="mul", trend=None, seasonal="mul", seed=1).fit(y).predict(12)
    pd.testing.assert_frame_equal(a, get_model("ets", error="mul", trend=None, seasonal="mul").fit(y).predict(12))
    assert (a["yhat"] == b["yhat"]).all() and not (a["hi_95"] == b["hi_95"]).all()


# --- data of every kind ----------------------------------------------------------------------------------------------


def _series(kind):
    if kind == "monthly":
        return load("sample:CO2")["co2"].iloc[-90:], 12
    if kind == "quarterly":
        return load("sample:CO2")["co2"].resample("QS").mean().iloc[-60:], 4
    if kind == "business-daily":
        return load("sample:AAPL")["close"].iloc[-250:], 5
    return _local_level(0, 80), None  # yearly: no season known


@pytest.mark.parametrize("kind", ["monthly", "quarterly", "business-daily", "no season"])
@pytest.mark.parametrize("name", ["ets", "theta"])
def test_every_kind_of_regular_series(kind, name):
    y, m = _series(kind)
    model = get_model(name).fit(y.iloc[:-8])
    fc = model.predict(8)
    assert (fc.index == y.index[-8:]).all() and np.isfinite(fc.to_numpy()).all()
    assert ((fc["lo_95"] <= fc["yhat"]) & (fc["yhat"] <= fc["hi_95"])).all()
    assert (model.season_ if name == "ets" else model.period_) == m
    model.update(y.iloc[-8:])
    assert model.predict(1).index[0] > y.index[-1]


def test_a_series_with_non_positive_values_gets_additive_forms_only(co2):
    y = co2.iloc[-100:] - co2.iloc[-100:].mean()
    m = get_model("ets").fit(y)
    assert len(m.search_table_) == 6 and not m.search_table_["form"].str.contains("M").any()
    with pytest.raises(E.NonPositiveValueError, match="ets error='mul' needs positive values"):
        get_model("ets", error="mul").fit(y)
    assert get_model("theta").fit(y).deseasonalised() in ("additive", None)
    with pytest.raises(E.NonPositiveValueError, match="theta method='multiplicative'"):
        get_model("theta", method="multiplicative").fit(y)


def test_seasons_longer_than_24_only_when_asked_for():
    y = pd.Series(
        100 + np.sin(np.arange(120) * 2 * np.pi / 52), index=pd.date_range("2000-01-02", periods=120, freq="W")
    )
    assert get_model("ets").fit(y).season_ is None
    m = get_model("ets", error="add", trend=None, seasonal="add").fit(y)
    assert m.season_ == 52 and str(m) == "ETS(A,N,A) m=52"
    assert get_model("theta").fit(y).period_ == 52


def test_a_monthly_series_shorter_than_two_years_has_no_season(co2):
    assert get_model("ets").fit(co2.iloc[:20]).season_ is None
    assert get_model("theta").fit(co2.iloc[:20]).period_ is None
    assert get_model("ets", season_length=6).fit(co2.iloc[:20]).season_ == 6


# --- errors ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, params, parameter",
    [
        ("ets", {"error": "multiplicative"}, "error"),
        ("ets", {"trend": "mul"}, "trend"),
        ("ets", {"damped_trend": "yes"}, "damped_trend"),
        ("ets", {"trend": None, "damped_trend": True}, "damped_trend"),
        ("ets", {"seasonal": "additive"}, "seasonal"),
        ("ets", {"season_length": 1}, "season_length"),
        ("ets", {"season_length": 12.5}, "season_length"),
        ("ets", {"ic": "mse"}, "ic"),
        ("ets", {"repetitions": 10}, "repetitions"),
        ("ets", {"seed": -1}, "seed"),
        ("ets", {"alpha": 0.3}, "alpha"),
        ("theta", {"theta": 0.5}, "theta"),
        ("theta", {"theta": "2"}, "theta"),
        ("theta", {"method": "mul"}, "method"),
        ("theta", {"use_test": "yes"}, "use_test"),
        ("theta", {"season_length": 0}, "season_length"),
        ("theta", {"period": 12}, "period"),
    ],
)
def test_bad_parameters_are_config_errors_naming_the_parameter(name, params, parameter):
    with pytest.raises(E.ConfigError) as info:
        get_model(name, **params)
    assert info.value.context["parameter"] == parameter and info.value.hint


@pytest.mark.parametrize("name, rows", [("ets", 9), ("theta", 5)])
def test_too_short_series_say_what_to_do(co2, name, rows):
    with pytest.raises(E.SeriesTooShortError, match=f"needs at least {rows + 1} observations, got {rows}") as info:
        get_model(name).fit(co2.iloc[:rows])
    assert "longer" in info.value.hint


def test_a_seasonal_form_without_a_season_is_a_clear_error(co2):
    with pytest.raises(E.SeriesTooShortError, match="needs two seasons \\(24 rows") as info:
        get_model("ets", seasonal="add").fit(co2.iloc[:20])
    assert "seasonal=None" in info.value.hint
    yearly = _local_level(0, 40)
    with pytest.raises(E.ConfigError, match="needs a season length") as info:
        get_model("ets", seasonal="mul").fit(yearly)
    assert info.value.context["parameter"] == "season_length"


def test_when_no_form_fits_the_error_lists_every_reason():
    y = np.linspace(1, 2, 12)
    with pytest.raises(E.ConfigError, match=r"no ETS form could be fit.*ETS\(A,Ad,A\): 12 observations are too few"):
        select_form(y, ets_forms("add", "add", True, "add", season=12))


# --- tuning and sizing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_every_value_of_the_search_space_makes_a_model_that_fits(co2, name):
    space = get_model(name).search_space()
    assert grid_space(space)
    y = co2.iloc[-72:]
    for param, spec in space.items():
        for v in spec.get("grid") or spec.get("choices"):
            model = model_for(name, 6, **{param: v}).fit(y)
            assert np.isfinite(model.predict(6)["yhat"]).all(), (param, v)


def test_conformal_intervals_roll_with_the_update_path(co2):
    for name in ("ets", "theta"):
        m = get_model(name, intervals="conformal", conformal_horizon=6, conformal_size=24).fit(co2.iloc[-96:])
        fc = m.predict(6)
        assert (fc["lo_95"] < fc["yhat"]).all() and (fc["hi_95"] > fc["hi_80"]).all()
