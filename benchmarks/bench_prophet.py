"""Prophet speed: a fit on ten years of trading days, the warm-started update against a cold fit, and predict.

Target (issue): a Prophet fit on 2,500 daily points under 1 s on this 2-core machine; the warm-started
`update` should cost less than a cold fit. Run: `.venv/bin/python benchmarks/bench_prophet.py`.
Cold fits and updates are interleaved in one run (median of repeats), so a noisy machine shifts both alike.
Exit status 1 when a target is missed.
"""

import copy
import numpy as np
import pandas as pd
from forecast_nb.data import load
from forecast_nb.models import get_model
from common import timed, report

REPEATS, NEW = 5, 5


def main():
    from forecast_nb.models.prophet import _import_prophet, _quiet

    y = load("sample:AAPL")["close"].iloc[-2520:]
    raw_df = pd.DataFrame({"ds": y.index, "y": y.to_numpy()})
    RawProphet = _import_prophet()
    base = get_model("prophet").fit(y.iloc[:-NEW])  # warm-up: imports, the Stan binary's first start
    times = {k: [] for k in ("raw", "cold", "update", "predict")}
    for _ in range(REPEATS):
        with _quiet():
            times["raw"].append(timed(lambda: RawProphet(uncertainty_samples=0).fit(raw_df))[0])
        times["cold"].append(timed(lambda: get_model("prophet").fit(y))[0])
        m = copy.deepcopy(base)
        times["update"].append(timed(lambda: m.update(y.iloc[-NEW:]))[0])
        times["predict"].append(timed(lambda: m.predict(10))[0])
    med = {k: float(np.median(v)) for k, v in times.items()}
    rows = [
        ("prophet.Prophet().fit (raw)", med["raw"], None),
        ("Forecaster.fit, cold", med["cold"], 1.0),
        (f"update (+{NEW} rows), warm start", med["update"], med["cold"]),
        ("predict 10 days, 80% + 95%", med["predict"], None),
    ]
    print(f"Prophet on sample:AAPL close, last {len(y):,} trading days; median of {REPEATS}")
    ok = report(rows, width=34)
    print(f"update / cold fit: {med['update'] / med['cold']:.2f}")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
