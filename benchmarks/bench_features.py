"""Feature-building speed: the default FeatureSpec on ~10 years of daily prices and on 1,000,000 rows.

Targets (issue 3): under 50 ms for 2,500 rows, under 2 s for 1,000,000 rows.
Run: `.venv/bin/python benchmarks/bench_features.py`.
Both sizes are measured in the same run (median of repeats), so a noisy machine shifts both alike.
"""

import numpy as np
import pandas as pd
from forecast_nb.data import load
from forecast_nb.features import FeatureSpec, build_features
from common import timed, report


def synthetic_ohlcv(n: int, freq="h", seed=0) -> pd.DataFrame:
    "A positive random-walk OHLCV series of n rows (hourly, so that 1e6 rows fit in pandas' date range)."
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = np.abs(rng.normal(0, 0.005, n)) * close
    df = pd.DataFrame(
        {
            "open": close * (1 + rng.normal(0, 0.002, n)),
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.integers(1_000, 100_000, n).astype("float64"),
        },
        index=pd.date_range("1950-01-01", periods=n, freq=freq, name="date"),
    )
    df.attrs["target"] = "close"
    return df


def median_seconds(fn, repeats):
    return float(np.median([timed(fn)[0] for _ in range(repeats)]))


def main():
    spec = FeatureSpec.default()
    daily = load("sample:AAPL").iloc[-2520:]  # 10 years of trading days
    big = synthetic_ohlcv(1_000_000)
    build_features(daily, spec)  # warm-up: imports, TA-Lib init
    t_daily = median_seconds(lambda: build_features(daily, spec), 20)
    t_big = median_seconds(lambda: build_features(big, spec), 3)
    n_feat = build_features(daily, spec).shape[1]
    print(f"default FeatureSpec: {n_feat} features; {len(daily) / t_daily:,.0f} and {len(big) / t_big:,.0f} rows/s")
    return report([(f"10y daily ({len(daily):,} rows)", t_daily, 0.050), (f"{len(big):,} rows", t_big, 2.0)], width=30)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
