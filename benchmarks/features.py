"""What features cost (issue 17): building the defaults on 1,000,000 rows, and a walk-forward that rebuilds them.

Targets, measured side by side in one run (one BLAS thread, median of 3, interleaved):
- the default features of 1,000,000 hourly OHLCV rows (`default_spec`: the price indicators) built in under 1 s;
- walk-forward ARIMA(1,1,1) with 10 exogenous columns (lags, a week's and a month's mean and standard deviation,
  the one-day return, the weekday) on the daily AAPL close, last 2,500 rows, horizon 5, step 5, 300 cutoffs,
  refit every 20: at most 3x the same backtest on the target alone. `walk_forward(features=...)` builds the features
  once per refit group and slices them per cutoff (`prep.checked_design`: each row's features read the rows up to
  it, checked at the group's first cutoff against a build from the rows up to it), so nothing after a cutoff
  reaches its forecast.
Run: `.venv/bin/python benchmarks/features.py` (exit status 1 when a target is missed).
"""

import numpy as np
from threadpoolctl import threadpool_limits
from forecast_nb.backtest import walk_forward
from forecast_nb.data import load
from forecast_nb.feature_defaults import default_spec
from forecast_nb.features import FeatureSpec, build_features
from bench_features import median_seconds, synthetic_ohlcv
from common import report, timed

TEN = FeatureSpec(lags=[0, 1, 2, 5], windows=[5, 20], window_stats=["mean", "std"], returns=[1], calendar=["dayofweek"])


def backtests(y, frame, repeats: int = 3) -> tuple[float, float, object, object]:
    "Median seconds of the backtest without and with the features, interleaved; and the last result of each."
    kw = dict(horizon=5, initial=1000, step=5, refit_every=20, progress=False)
    model = ("arima", {"order": (1, 1, 1)})
    plain, feats = [], []
    for _ in range(repeats):
        t, bare = timed(lambda: walk_forward(model, y, **kw))
        plain.append(t)
        t, rich = timed(lambda: walk_forward(model, frame, features=TEN, **kw))
        feats.append(t)
    return float(np.median(plain)), float(np.median(feats)), bare, rich


def main():
    big = synthetic_ohlcv(1_000_000)
    spec = default_spec(big)
    build_features(big.iloc[:5000], spec)  # warm-up: imports, TA-Lib
    t_big = median_seconds(lambda: build_features(big, spec), 3)
    frame = load("sample:AAPL").iloc[-2500:]
    n_cols = build_features(frame, TEN).shape[1]
    with threadpool_limits(1):
        walk_forward(("arima", {"order": (1, 1, 1)}), frame["close"].iloc[:1100], 5, initial=1000, progress=False)
        t_plain, t_feat, bare, rich = backtests(frame["close"], frame)
    cuts = bare.forecasts["cutoff"].nunique()
    print(
        f"default features of {len(big):,} hourly OHLCV rows: {build_features(big.iloc[:100], spec).shape[1]} columns"
    )
    ok = report(
        [
            (f"default features, {len(big):,} rows", t_big, 1.0),
            (f"ARIMA(1,1,1) walk-forward, {cuts} cutoffs, target alone", t_plain, None),
            (f"the same with {n_cols} exogenous features", t_feat, 3 * t_plain),
        ]
    )
    mae = bare.metrics.loc["mae", "model"], rich.metrics.loc["mae", "model"], bare.metrics.loc["mae", "naive"]
    print(f"with features / without: {t_feat / t_plain:.2f}x (target <= 3x)")
    print(f"MAE without features {mae[0]:.4f}, with {mae[1]:.4f}, naive {mae[2]:.4f} (same {cuts} cutoffs)")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
