import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def bdays_frame():
    "60 business days of a clean, rising close price (no holidays in Jan-Mar 2024 matter: calendar=None)."
    idx = pd.bdate_range("2024-01-01", periods=60)
    return pd.DataFrame({"date": idx, "close": np.linspace(10, 20, 60), "volume": np.arange(60) * 100 + 1000})


def ar1(n: int, seed: int = 0, vol_from: int | None = None, vol: float = 1.0) -> pd.Series:
    """A mean-reverting series (AR(1), phi 0.5, around 100) on business days from 2022-01-03;
    from row `vol_from` on, shocks `vol` times larger."""
    shocks = np.random.default_rng(seed).normal(size=n)
    if vol_from is not None:
        shocks[vol_from:] *= vol
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.5 * e[t - 1] + shocks[t]
    return pd.Series(100 + e, index=pd.bdate_range("2022-01-03", periods=n), name="value").rename_axis("date")


@pytest.fixture(scope="session")
def ar1_series():
    "`ar1`, for module fixtures that make a series to train on."
    return ar1


@pytest.fixture(scope="module")
def runs_env(tmp_path_factory):
    "A scratch folder as $FORECAST_NB_RUNS for a module; the tracking URI that training sets is put back afterwards."
    import os
    import mlflow

    before = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "FORECAST_NB_RUNS")}
    root = tmp_path_factory.mktemp("runs")
    os.environ["FORECAST_NB_RUNS"] = str(root / "runs")
    yield root
    mlflow.set_tracking_uri(before["MLFLOW_TRACKING_URI"])
    for k, v in before.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def pyfunc_store(tmp_path_factory):
    "An MLflow experiment in a SQLite store of its own, for logging pyfunc models; the tracking URI is put back."
    import os
    import mlflow
    from forecast_nb.tracking import experiment_id

    d, before = tmp_path_factory.mktemp("pyfunc"), os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(f"sqlite:///{d}/mlflow.db")  # MLflow also exports it to the environment
    yield experiment_id("pyfunc", f"sqlite:///{d}/mlflow.db")
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before
