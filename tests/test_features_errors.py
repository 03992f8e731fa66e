"""Bad input to the feature and preparation steps: clear errors from the project's hierarchy."""

import pandas as pd
import pytest
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.features import FeatureSpec, build_features, design_matrix
from forecast_nb.indicators import compute_indicators
from forecast_nb.freq import future_index
from forecast_nb.prep import Scaler, make_windows, exog_future
from forecast_nb.decompose import CausalSTL


@pytest.fixture(scope="module")
def co2():
    return load("sample:CO2")


@pytest.mark.parametrize(
    "call, exc, phrase",
    [
        (
            lambda d: build_features(d, FeatureSpec(indicators={"stoch": {}})),
            E.FeatureError,
            "indicator 'stoch' needs column(s) ['high', 'low']",
        ),
        (
            lambda d: build_features(d, FeatureSpec(indicators={"mfi": {}})),
            E.FeatureError,
            "needs column(s) ['high', 'low', 'volume']",
        ),
        (
            lambda d: build_features(d, FeatureSpec(lags=[1], lag_columns=["volume"])),
            E.FeatureError,
            "column 'volume' (lag_columns) is not in the data",
        ),
        (
            lambda d: build_features(d, FeatureSpec(lags=[1]), target="sales"),
            E.FeatureError,
            "target column 'sales' not in the data",
        ),
        (
            lambda d: compute_indicators(d, {"rsi": {"timeperiod": 14, "window": 3}}),
            E.ConfigError,
            "has no parameter(s) ['window']",
        ),
        (lambda d: compute_indicators(d, ["rsi"]), E.ConfigError, "must be a dict"),
        (lambda d: FeatureSpec(windows=[0]), E.ConfigError, "windows=[0]"),
        (lambda d: FeatureSpec(decomposition="x11"), E.ConfigError, "decomposition='x11'"),
        (lambda d: FeatureSpec.from_json('{"lagz": [1]}'), E.ConfigError, "unknown FeatureSpec key(s) ['lagz']"),
        (lambda d: build_features(d, FeatureSpec(holidays="Atlantis")), E.ConfigError, "holidays='Atlantis'"),
        (lambda d: design_matrix(build_features(d, FeatureSpec(lags=[1])), horizon=0), E.ConfigError, "horizon=0"),
        (lambda d: design_matrix(pd.DataFrame({"x": [1.0]})), E.FeatureError, "features carry no types"),
        (lambda d: CausalSTL().fit(d["co2"].iloc[:20]), E.SeriesTooShortError, "STL needs at least 25 rows"),
        (lambda d: CausalSTL(trend_rule="quadratic"), E.ConfigError, "trend_rule='quadratic'"),
        (
            lambda d: Scaler(log=True).fit(d["co2"] - 330),
            E.NonPositiveValueError,
            "the log scaler (fit) needs positive values",
        ),
        (lambda d: Scaler().inverse_transform(d["co2"]), E.NotFittedError, "Scaler used before fit"),
        (
            lambda d: make_windows(d["co2"], d["co2"].iloc[:-1], 12, 12),
            E.FeatureError,
            "inputs have 526 rows but target has 525",
        ),
        (lambda d: make_windows(d["co2"], d["co2"], 0, 12), E.ConfigError, "lookback=0"),
        (lambda d: future_index(pd.DatetimeIndex(["2020-01-01", "2020-01-03"]), 2), E.ConfigError, "no frequency"),
        (lambda d: exog_future(d.iloc[:3], FeatureSpec(lags=[0]), 5), E.SeriesTooShortError, "fewer than horizon=5"),
    ],
)
def test_feature_errors(co2, call, exc, phrase):
    with pytest.raises(exc) as info:
        call(co2)
    assert phrase in str(info.value), str(info.value)
    assert " -> " in str(info.value)


def test_spec_json_round_trip_reapplies_identically(co2):
    spec = FeatureSpec(
        indicators={"rsi": {"timeperiod": 6}, "bbands": {}},
        lags=[0, 12],
        windows=[3, 12],
        expanding=True,
        calendar=True,
        decomposition="stl",
        period=12,
    )
    again = FeatureSpec.from_json(spec.to_json())
    pd.testing.assert_frame_equal(build_features(co2, spec), build_features(co2, again))


def test_warmup_is_nan_never_filled(co2):
    X = build_features(co2, FeatureSpec(indicators={"sma": {"timeperiod": 12}}, windows=[24], lags=[6]))
    assert X["sma_12"].iloc[:11].isna().all() and X["sma_12"].iloc[11:].notna().all()
    assert X["co2_roll_mean_24"].iloc[:23].isna().all()
    assert X["co2_lag_6"].iloc[:6].isna().all()
