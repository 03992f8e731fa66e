"""LSTM speed: fit (with conformal calibration) and predict on ~10 years of daily prices.

Target (LSTM issue): lookback 30, 32 units, 10 epochs on 2,500 points, fit including the conformal
calibration, under 20 s on the 2-core CPU machine. Run: `.venv/bin/python benchmarks/bench_lstm.py`.
`patience=10` so that all 10 epochs run (early stopping would make the fit look faster than the worst case);
the TensorFlow import is timed apart (it is paid once per process). Medians of repeats; exit 1 if the
target is missed.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
from forecast_nb.data import load
from forecast_nb.models import Forecaster, get_model
from common import timed as timed_once, report

TARGET_S = 20.0
PARAMS = dict(lookback=30, units=32, epochs=10, patience=10)


def timed(fn, repeats):
    "Median seconds over `repeats` calls, and the last result."
    runs = [timed_once(fn) for _ in range(repeats)]
    return float(np.median([t for t, _ in runs])), runs[-1][1]


def main(repeats: int = 3):
    y = load("sample:AAPL")["close"].iloc[-2520:]
    t_import, _ = timed(lambda: __import__("tensorflow"), 1)
    t_fit, m = timed(lambda: get_model("lstm", **PARAMS).fit(y), repeats)
    t_predict, _ = timed(lambda: m.predict(20), 50)
    from forecast_nb.models.lstm import LSTM

    class RollingLSTM(LSTM):
        _calibration_errors = Forecaster._calibration_errors  # the base class's roll: predict + update per origin

    t_roll, _ = timed(lambda: RollingLSTM(**PARAMS).fit(y), 1)
    w = get_model("lstm", **PARAMS).fit(y.iloc[:-50])
    steps = iter(range(len(y) - 50, len(y)))
    t_step, _ = timed(lambda: w.update(y.iloc[(i := next(steps)) : i + 1]).predict(20), 50)
    import tensorflow as tf

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"LSTM on sample:AAPL close, last {len(y):,} rows, {device}, params {PARAMS}, horizon {m.params['horizon']}")
    print(
        f"windows: {m.windows_['train']} train, {m.windows_['purged']} purged, {m.windows_['validation']} validation; "
        f"epochs run {len(m.history_['loss'])}; "
        f"calibration {m.conformal_.shape[0]} origins x {m.conformal_.shape[1]} steps"
    )
    rows = [
        ("import tensorflow (once)", t_import, None),
        (f"fit + calibration (median of {repeats})", t_fit, TARGET_S),
        ("fit + base-class roll (1 run)", t_roll, None),
        ("predict(20) (median of 50)", t_predict, None),
        ("update(1 row) + predict(20) (median of 50)", t_step, None),
    ]
    return report(rows, width=44)


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
