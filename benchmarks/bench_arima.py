"""ARIMA speed on ten years of trading days (the last 2,520 rows of sample:AAPL close).

Targets (issue 4): ARIMA(1,1,1) fit under 0.5 s; automatic order selection under 10 s (issue 20: under 1 s,
where the stepwise walk is ranked by conditional sums of squares, the default on series over 150 rows, beside
the walk by exact likelihoods, `approximation=False`). Also shown: the state-space update of 5 new rows
against a refit, the fast path walk-forward validation relies on.
Run: `.venv/bin/python benchmarks/bench_arima.py` (exit status 1 when a target is missed). Fits and
updates are interleaved in one run (median of repeats), so a noisy machine shifts both alike.
"""

import copy
import numpy as np
from forecast_nb.data import load
from forecast_nb.models import get_model
from common import timed, report


def seconds(fn):
    return timed(fn)[0]


def _choice(m) -> str:
    return f"{len(m.search_table_)} models -> {m.order_}, trend {m.trend_!r}"


def main(repeats=5):
    y = load("sample:AAPL")["close"].iloc[-2520:]
    fitted = get_model("arima", order=(1, 1, 1)).fit(y.iloc[:-5])  # warm-up: imports
    t = {"fit": [], "update": [], "refit": []}
    for _ in range(repeats):
        t["fit"].append(seconds(lambda: get_model("arima", order=(1, 1, 1)).fit(y)))
        m = copy.deepcopy(fitted)
        t["update"].append(seconds(lambda: m.update(y.iloc[-5:])))
        t["refit"].append(seconds(lambda: get_model("arima", order=(1, 1, 1)).fit(y)))
    auto, chosen = {False: [], None: []}, {}
    for _ in range(3):  # interleaved: the walk by exact likelihoods, then the default (by CSS on this series)
        for approximation in auto:
            chosen[approximation] = m = get_model("arima", approximation=approximation)
            auto[approximation].append(seconds(lambda: m.fit(y)))
    med = {k: float(np.median(v)) for k, v in t.items()}
    rows = [
        ("ARIMA(1,1,1) fit, 2,520 rows", med["fit"], 0.5),
        *[
            (f"auto order, walk by {how} ({_choice(chosen[a])})", float(np.median(auto[a])), limit)
            for a, how, limit in [(False, "exact likelihood", 10.0), (None, "CSS (default here)", 1.0)]
        ],
        ("update 5 rows (state-space extend)", med["update"], None),
    ]
    ok = report(rows)
    print(f"update is {med['refit'] / med['update']:.0f}x faster than a refit")
    print(f"the CSS walk is {np.median(auto[False]) / np.median(auto[None]):.1f}x faster than the exact one")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
