"""The ensemble (nbs/05h_ensemble.ipynb): its forecast is the combination of its members' forecasts, fitted
separately; update, save/load, the pyfunc, features and walk-forward tables go through it unchanged; bad
parameters and members that cannot fit are clear errors naming what is wrong."""

import mlflow
import numpy as np
import pandas as pd
import pytest
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.models import get_model, load_model, model_for
from forecast_nb.models.baselines import Drift
from forecast_nb.models.ensemble import Ensemble, combine_forecasts

ARIMA = ["arima", {"order": (1, 1, 1), "seasonal_order": (0, 1, 1, 12)}]
MEMBERS = [["naive", {}], ["drift", {}], ["seasonal_naive", {}], ARIMA]


@pytest.fixture(scope="module")
def co2():
    "The last 20 years of monthly CO2: fit on all but the last 12 months."
    df = load("sample:CO2")
    return df[df.attrs["target"]].iloc[-240:]


@pytest.fixture(scope="module")
def fitted(co2):
    return Ensemble(members=MEMBERS).fit(co2.iloc[:-12])


def separately(members, y, h, level=(80, 95), how="mean", new=None):
    "The combination of the members' forecasts, each fitted (and updated with `new`) on its own."
    fcs = []
    for name, params in members:
        m = get_model(name, **params).fit(y)
        fcs.append((m.update(new) if new is not None else m).predict(h, level=level))
    return combine_forecasts(fcs, how)


@pytest.mark.parametrize("how", ["mean", "median"])
def test_the_forecast_is_the_combination_of_the_members_fitted_separately(co2, how):
    train = co2.iloc[:-12]
    ens = Ensemble(members=MEMBERS, combine=how).fit(train)
    for level in [(80, 95), (50, 90, 99)]:
        fc = ens.predict(12, level=level)
        pd.testing.assert_frame_equal(fc, separately(MEMBERS, train, 12, level, how), check_exact=True)
        assert list(fc.columns) == ["yhat"] + [f"{b}_{lv}" for lv in level for b in ("lo", "hi")]
    assert str(ens) == f"{how} of naive, drift, seasonal_naive, arima"
    pd.testing.assert_frame_equal(ens.predict(12), combine_forecasts(list(ens.member_forecasts(12).values()), how))


def test_median_is_the_middle_member_and_bounds_stay_ordered(co2):
    train = co2.iloc[:-12]
    three = [["naive", {}], ["drift", {}], ARIMA]
    fc = Ensemble(members=three, combine="median").fit(train).predict(12)
    each = np.stack([get_model(n, **p).fit(train).predict(12)["yhat"].to_numpy() for n, p in three])
    np.testing.assert_array_equal(fc["yhat"].to_numpy(), np.sort(each, axis=0)[1])
    cols = ["lo_95", "lo_80", "yhat", "hi_80", "hi_95"]
    assert (np.diff(fc[cols].to_numpy(), axis=1) >= 0).all()


def test_save_load_round_trip_is_identical(fitted, tmp_path):
    fitted.save(tmp_path / "ens")
    assert sorted(p.name for p in (tmp_path / "ens" / "members").iterdir()) == [
        "0_naive",
        "1_drift",
        "2_seasonal_naive",
        "3_arima",
    ]
    back = load_model(tmp_path / "ens")
    assert type(back) is Ensemble and back.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(back.predict(12, level=(80, 95, 99)), fitted.predict(12, level=(80, 95, 99)))
    assert back.members_[3].res_.params.tolist() == fitted.members_[3].res_.params.tolist()
    recreated = get_model("ensemble", **back.get_params())
    assert recreated.params == fitted.params and recreated.max_horizon is None


def test_a_conformal_ensemble_round_trips_and_keeps_its_calibration(co2, tmp_path):
    m = Ensemble(members=[["naive", {}], ARIMA], intervals="conformal", conformal_horizon=6, conformal_size=40)
    m.fit(co2)
    fc = m.predict(6)
    assert (fc["hi_95"] >= fc["hi_80"]).all() and (fc["hi_80"] > fc["yhat"]).all()
    assert len(m.members_[0].y_) == len(co2)  # the members were rolled through the calibration rows
    pd.testing.assert_frame_equal(load_model(m.save(tmp_path / "c")).predict(6), fc)
    with pytest.raises(E.ConfigError, match="calibrated up to 6 steps"):
        m.predict(7)


def test_update_equals_the_members_updates(co2):
    train, new = co2.iloc[:-12], co2.iloc[-12:-6]
    ens = Ensemble(members=MEMBERS).fit(train)
    params = ens.members_[3].res_.params.copy()
    ens.update(new)
    pd.testing.assert_frame_equal(ens.predict(6), separately(MEMBERS, train, 6, new=new), check_exact=True)
    np.testing.assert_array_equal(ens.members_[3].res_.params, params)  # ARIMA filtered: no refit
    assert all(m.y_.index[-1] == new.index[-1] for m in ens.members_)
    ens.update(co2.iloc[-6:-3]).update(co2.iloc[-3:])
    assert ens.y_.index[-1] == co2.index[-1] and len(ens.members_[1].y_) == len(co2)
    with pytest.raises(E.GapError):
        ens.update(pd.Series([1.0], index=[co2.index[-1] + pd.DateOffset(months=3)]))


def test_log_ensemble_members_see_the_logged_series(co2):
    train = co2.iloc[:-12]
    ens = Ensemble(members=[["naive", {}], ["drift", {}]], log=True).fit(train).update(co2.iloc[-12:-6])
    assert ens.members_[0].y_.iloc[-1] == pytest.approx(np.log(co2.iloc[-7]))
    logs = np.mean([m.predict(4)["yhat"].to_numpy() for m in ens.members_], axis=0)
    np.testing.assert_allclose(ens.predict(4)["yhat"].to_numpy(), np.exp(logs))
    own = Ensemble(members=[["naive", {"log": True}], ["drift", {"intervals": "conformal", "conformal_horizon": 4}]])
    own.fit(train)  # members with their own log scale and intervals: combined on the series' scale
    want = combine_forecasts([m.predict(4) for m in own.members_])
    pd.testing.assert_frame_equal(own.predict(4), want)
    assert own.predict(1)["yhat"].iloc[0] == pytest.approx(
        (train.iloc[-1] + own.members_[1].predict(1)["yhat"].iloc[0]) / 2
    )
    with pytest.raises(E.ConfigError, match="log=True inside an ensemble with log=True") as e:
        Ensemble(members=[["naive", {"log": True}], ["drift", {}]], log=True)
    assert e.value.context["parameter"] == "members"


def test_pyfunc_round_trip(co2, pyfunc_store):
    from forecast_nb.pyfunc import forecast_request, log_forecaster

    model = Ensemble(members=[["naive", {}], ["seasonal_naive", {}], ARIMA], combine="median").fit(co2.iloc[:-6])
    with mlflow.start_run(experiment_id=pyfunc_store):
        info = log_forecaster(model)
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    got, want = loaded.predict(forecast_request(6)), model.predict(6)
    assert (got["ds"].to_numpy() == want.index.to_numpy()).all()
    for col in want.columns:
        assert got[col].tolist() == want[col].tolist(), col
    conditioned = loaded.predict(forecast_request(3, history=co2.iloc[-6:-3], level=(90,)))
    assert list(conditioned.columns) == ["ds", "step", "yhat", "lo_90", "hi_90"]
    assert conditioned["ds"].iloc[0] == co2.index[-3]
    assert len(model.y_) == len(co2) - 6  # serving with history never moves the model


def test_features_reach_every_member():
    from forecast_nb.features import FeatureSpec, build_features, design_matrix
    from forecast_nb.prep import exog_future

    aapl = load("sample:AAPL").iloc[-300:]
    spec = FeatureSpec(calendar=True)
    hist = aapl.iloc[:-5]
    X, y = design_matrix(build_features(hist, spec), hist["close"], horizon=5)
    members = [["naive", {}], ["arima", {"order": (1, 1, 0)}]]
    ens = Ensemble(members=members).fit(y, X)
    Xf = exog_future(hist, spec, 5)
    want = combine_forecasts([get_model(n, **p).fit(y, X).predict(5, X_future=Xf) for n, p in members])
    pd.testing.assert_frame_equal(ens.predict(5, X_future=Xf), want)
    assert ens.members_[1].x_columns_ == list(X.columns)
    with pytest.raises(E.FeatureError, match="none are given"):
        ens.predict(5)


def test_walk_forward_tables_combine_and_the_ensemble_backtests(co2):
    from forecast_nb.backtest import walk_forward

    two = [["naive", {}], ["drift", {}]]
    tables = [walk_forward((n, p), co2, 6, initial=200, progress=False).forecasts for n, p in two]
    both = combine_forecasts(tables, "mean")
    bounds = [c for c in both.columns if c == "yhat" or c[:3] in ("lo_", "hi_")]
    assert {"cutoff", "ds", "step", "y", "y_origin", "refit"} <= set(both.columns) - set(bounds)
    pd.testing.assert_frame_equal(both.drop(columns=bounds), tables[0].drop(columns=bounds))  # passed through
    np.testing.assert_allclose(both["yhat"], (tables[0]["yhat"] + tables[1]["yhat"]) / 2)
    ens = walk_forward(("ensemble", {"members": two}), co2, 6, initial=200, refit_every=2, progress=False)
    same = ["cutoff", "ds", "step", "y"] + bounds
    pd.testing.assert_frame_equal(ens.forecasts[same], both[same])
    every3 = walk_forward(("drift", {}), co2, 6, initial=200, refit_every=3, progress=False).forecasts
    assert not every3["refit"].all()
    mixed = combine_forecasts([every3, tables[0]])  # refit schedules may differ: refit where any member was
    assert mixed["refit"].all() and mixed["yhat"].tolist() == both["yhat"].tolist()
    with pytest.raises(E.ConfigError, match="column 'y' of frames\\[1\\]") as e:
        combine_forecasts([tables[0], tables[1].assign(y=tables[1]["y"] + 1)])
    assert e.value.context["parameter"] == "frames"


@pytest.mark.parametrize(
    "params, parameter, phrase",
    [
        ({"members": [["naive", {}], ["nope", {}]]}, "members", "members\\[1\\]: 'nope' is not a model"),
        ({"members": [["naive", {}], ["ensemble", {}]]}, "members", "'ensemble' is not a model an ensemble can hold"),
        ({"members": [["naive", {}]]}, "members", "at least two models"),
        ({"members": "naive"}, "members", "at least two models"),
        ({"members": [["naive", {}], ["drift"]]}, "members", "is not a \\[name, params\\] pair"),
        ({"members": [["naive", {}], ["arima", {"order": 3}]]}, "members", "members\\[1\\] \\(arima\\): order=3"),
        ({"members": [["naive", {}], ["drift", {"nope": 1}]]}, "members", "drift has no parameter"),
        ({"members": ["naive", "drift"], "combine": "max"}, "combine", "combine='max'"),
        ({"members": ["naive", "drift"], "horizon": 0}, "horizon", "horizon=0"),
        ({"members": ["naive", "drift"], "top_k": 3}, "top_k", "ensemble has no parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(params, parameter, phrase):
    with pytest.raises(E.ConfigError, match=phrase) as e:
        get_model("ensemble", **params)
    assert e.value.context["parameter"] == parameter


def test_combine_forecasts_refuses_what_it_cannot_combine(co2):
    fc = get_model("naive").fit(co2).predict(3)
    cases = [
        (lambda: combine_forecasts([fc, fc], "max"), "how"),
        (lambda: combine_forecasts([]), "frames"),
        (lambda: combine_forecasts(fc), "frames"),
        (lambda: combine_forecasts([fc, fc[["yhat"]]]), "frames"),
        (lambda: combine_forecasts([fc, fc.iloc[:2]]), "frames"),
        (lambda: combine_forecasts([fc.drop(columns="yhat")] * 2), "frames"),
    ]
    for call, parameter in cases:
        with pytest.raises(E.ConfigError) as e:
            call()
        assert e.value.context["parameter"] == parameter
    with_nan = fc.copy()
    with_nan.iloc[1, 0] = np.nan
    assert np.isnan(combine_forecasts([fc, with_nan])["yhat"].iloc[1])  # a missing forecast is not dropped


def test_a_member_that_cannot_fit_is_named(co2):
    short = co2.iloc[:20]
    with pytest.raises(E.SeriesTooShortError, match="ensemble member 1 \\(seasonal_naive\\) cannot fit") as e:
        Ensemble(members=[["naive", {}], ["seasonal_naive", {"season_length": 24}]]).fit(short)
    assert e.value.context["rows"] == 20 and e.value.hint
    with pytest.raises(E.SeriesTooShortError, match="ensemble member 2 \\(arima\\) needs at least 10 observations"):
        Ensemble(members=["naive", "drift", "arima"]).fit(co2.iloc[:8])


def test_an_unexpected_member_failure_keeps_its_type_and_names_the_member(co2, monkeypatch):
    def broken(self, y, X):
        raise RuntimeError("numerical trouble")

    monkeypatch.setattr(Drift, "_fit", broken)
    with pytest.raises(RuntimeError, match="numerical trouble") as e:
        Ensemble(members=["naive", "drift"]).fit(co2)
    assert "in ensemble member 1 (drift)" in " ".join(getattr(e.value, "__notes__", []))


def test_model_for_sizes_the_members(monkeypatch):
    seen = []

    def sized(cls, horizon, **params):
        seen.append(horizon)
        return cls(**params)

    monkeypatch.setattr(Drift, "for_horizon", classmethod(sized))
    ens = model_for("ensemble", 7, members=["naive", "drift"])
    assert ens.params["horizon"] == 7 and seen == [7]
    assert model_for("ensemble", 7, members=["naive", "drift"], horizon=3).params["horizon"] == 3 and seen[-1] == 3
    get_model("ensemble", members=["naive", "drift"])
    assert seen == [7, 3]  # no horizon: the members are built as get_model builds them
    lstm = Ensemble(members=["naive", ["lstm", {"horizon": 6}]])
    assert (lstm.max_horizon, lstm.conformal_horizon, lstm.min_train) == (6, 6, lstm.members_[1].min_train)
    sized = model_for("ensemble", 9, members=["naive", "lstm"])  # the LSTM sizes its output for the horizon
    assert sized.max_horizon == sized.members_[1].params["horizon"] == 9


def test_an_lstm_member_saves_its_own_way(co2, tmp_path):
    small = {"lookback": 12, "horizon": 6, "units": 4, "epochs": 2, "conformal_size": 40}
    ens = Ensemble(members=[["naive", {}], ["lstm", small]]).fit(co2)
    fc = ens.predict(6)
    assert (tmp_path / "e" / "members" / "1_lstm" / "model.keras").exists() is False
    ens.save(tmp_path / "e")
    assert (tmp_path / "e" / "members" / "1_lstm" / "model.keras").exists()
    pd.testing.assert_frame_equal(load_model(tmp_path / "e").predict(6), fc)
    with pytest.raises(E.ConfigError, match="at most 6 steps"):
        ens.predict(7)
