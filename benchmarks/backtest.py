"""Walk-forward speed on the daily AAPL close (last 2,500 rows), horizon 5, step 5, expanding from 1,000 rows.

Targets (issue 5), measured side by side in one run:
- ARIMA(1,1,1) with `refit_every=20` against the plain loop that refits statsmodels at every cutoff:
  at least 10x faster, with MAE within 1% of the plain loop's.
- `n_jobs=2` against `n_jobs=1` (ARIMA, refit at every cutoff): at least 1.6x on this 2-core machine.
Both sides of each comparison run with one BLAS thread (threadpoolctl), as the engine's workers do.
Run: `.venv/bin/python benchmarks/backtest.py` (exit status 1 when a target is missed).
The Prophet comparison with prophet.diagnostics.cross_validation is in backtest_prophet.py.
"""

import warnings
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from forecast_nb.data import load
from forecast_nb.backtest import walk_forward
from common import timed, report


def plain_loop(y: pd.Series, initial: int, horizon: int, step: int) -> pd.DataFrame:
    "What one writes without the engine: refit SARIMAX at every cutoff, forecast, collect."
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rows = []
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        for origin in range(initial, len(y), step):
            h = min(horizon, len(y) - origin)
            res = SARIMAX(y.iloc[:origin].to_numpy(), order=(1, 1, 1)).fit(disp=False, maxiter=50, cov_type="none")
            rows.append(pd.DataFrame({"y": y.iloc[origin : origin + h].to_numpy(), "yhat": res.forecast(h)}))
    return pd.concat(rows, ignore_index=True)


def main():
    y = load("sample:AAPL")["close"].iloc[-2500:]
    spec = ("arima", {"order": (1, 1, 1)})
    kw = dict(horizon=5, initial=1000, step=5, progress=False)
    walk_forward(spec, y.iloc[:1100], **kw | {"initial": 1000})  # warm-up: imports
    t_plain, plain = timed(lambda: plain_loop(y, 1000, 5, 5))
    t_fast, fast = timed(lambda: walk_forward(spec, y, refit_every=20, **kw))
    mae_plain = float(np.mean(np.abs(plain["y"] - plain["yhat"])))
    mae_fast = fast.metrics.loc["mae", "model"]
    sub = y.iloc[-1300:]  # 60 cutoffs, refit at each
    t_one, one = timed(lambda: walk_forward(spec, sub, refit_every=1, n_jobs=1, **kw))
    t_two, two = timed(lambda: walk_forward(spec, sub, refit_every=1, n_jobs=2, **kw))
    t_one2, _ = timed(lambda: walk_forward(spec, sub, refit_every=1, n_jobs=1, **kw))  # interleaved repeat
    t_two2, _ = timed(lambda: walk_forward(spec, sub, refit_every=1, n_jobs=2, **kw))
    t_one, t_two = min(t_one, t_one2), min(t_two, t_two2)
    n_cut = fast.forecasts["cutoff"].nunique()
    print(f"ARIMA(1,1,1) on sample:AAPL close, last {len(y):,} rows: {n_cut} cutoffs, horizon 5, step 5")
    ok = report(
        [
            (f"plain loop, refit at all {n_cut} cutoffs", t_plain, None),
            (
                f"walk_forward refit_every=20 ({fast.forecasts.groupby('cutoff')['refit'].first().sum()} refits)",
                t_fast,
                t_plain / 10,
            ),
            (f"walk_forward n_jobs=1, {one.forecasts['cutoff'].nunique()} cutoffs, refit at each", t_one, None),
            ("walk_forward n_jobs=2, same", t_two, t_one / 1.6),
        ]
    )
    same = np.allclose(one.forecasts["yhat"], two.forecasts["yhat"], rtol=0, atol=0)
    print(f"speed-up refit_every=20 vs plain loop: {t_plain / t_fast:.1f}x (target >= 10x)")
    print(
        f"MAE plain {mae_plain:.4f}, refit_every=20 {mae_fast:.4f}: "
        f"{100 * (mae_fast / mae_plain - 1):+.2f}% (target within 1%)"
    )
    print(f"n_jobs=2 vs 1: {t_one / t_two:.2f}x (target >= 1.6x); identical forecasts: {same}")
    return ok and abs(mae_fast / mae_plain - 1) <= 0.01 and same


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
