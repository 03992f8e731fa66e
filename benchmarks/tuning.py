"""Tuning speed: 30 Bayesian trials of ARIMA on the daily sample, walk-forward with refit_every=20.

Targets (issue 6), measured side by side in one run:
- 30 Bayesian (TPE) trials in under 2 minutes;
- MLflow tracking (SQLite store, a nested run per trial) costs under 10% of the tuning time;
- two worker processes (`n_jobs=2`) give at least 1.6x the trial throughput of one.
Each configuration runs a fresh study in a temporary folder. Run: `.venv/bin/python benchmarks/tuning.py`
(exit status 1 when a target is missed).
"""

import tempfile
from forecast_nb.data import load
from forecast_nb.tuning import tune
from forecast_nb.tracking import experiment_id
from forecast_nb.tuning_runs import tune_tracked
from common import timed, report


def main(n=30):
    data = load("sample:AAPL")
    cv = {"horizon": 5, "refit_every": 20}
    with tempfile.TemporaryDirectory() as d:

        def run(name, **kw):
            return tune("arima", data, method="bayes", n_trials=n, cv=cv, storage=f"sqlite:///{d}/{name}.db", **kw)

        tune("arima", data, method="bayes", n_trials=1, cv=cv, storage=f"sqlite:///{d}/warm.db")  # imports
        experiment_id("forecast-nb-tuning", f"sqlite:///{d}/mlflow.db")  # store created
        t_plain, res = timed(lambda: run("plain"))
        t_tracked, _ = timed(
            lambda: tune_tracked(
                "arima",
                data,
                tracking_uri=f"sqlite:///{d}/mlflow.db",
                method="bayes",
                n_trials=n,
                cv=cv,
                storage=f"sqlite:///{d}/tracked.db",
            )
        )
        t_two, _ = timed(lambda: run("two", n_jobs=2))
    t = res.table.loc["bayes"]
    print(
        f"ARIMA on sample:AAPL (train + validation), Bayesian search, {n} trials: "
        f"best MAE {res.best_value:.4f} with {res.best_params}; "
        f"{int(t['complete'])} complete, {int(t['pruned'])} pruned"
    )
    ok = report(
        [
            (f"{n} Bayesian trials, 1 process", t_plain, 120.0),
            ("the same, tracked in MLflow (nested runs)", t_tracked, t_plain * 1.10),
            ("the same, n_jobs=2", t_two, t_plain / 1.6),
        ],
        width=46,
    )
    print(
        f"tracking overhead {100 * (t_tracked / t_plain - 1):+.1f}% (target < 10%); "
        f"n_jobs=2 throughput {t_plain / t_two:.2f}x (target >= 1.6x)"
    )
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
