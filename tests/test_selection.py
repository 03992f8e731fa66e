"""`model='auto'` on series nobody here wrote: short monthly and long daily ones never fail the run; candidates
that cannot fit are skipped with their reason, in the table, the nested runs and the summary."""

import numpy as np
import pandas as pd
import pytest
from forecast_nb.config import TrainConfig
from forecast_nb.data import load
from forecast_nb.errors import WorkflowError
from forecast_nb.selection import select_step
from forecast_nb import selection  # its test_step is not a test
from forecast_nb.split import chrono_split

CANDIDATES = ["arima", "ets", "theta", "prophet", "lstm", "ensemble"]


def monthly(n: int, seed: int = 0) -> pd.DataFrame:
    "A trending, seasonal monthly series of `n` points (a business series of the M3 kind)."
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 500 + 3 * t + 40 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 10, n)
    df = pd.DataFrame({"sales": y}, index=pd.date_range("2010-01-01", periods=n, freq="MS", name="date"))
    df.attrs["target"] = "sales"
    return df


def auto(df: pd.DataFrame, horizon: int, part: int):
    cfg = TrainConfig(model="auto", horizon=horizon, val_size=part, test_size=part)
    split = chrono_split(df, val=part, test=part)
    sel = select_step(cfg, df, split, gate=None)
    return sel, selection.test_step(cfg, df, split, sel.best.name, sel.best.params)


def check(sel):
    "Every candidate listed once, scored or with a reason; the choice is the pool of those within 10% of the best."
    tab = sel.candidates
    assert tab["model"].tolist() == CANDIDATES, tab
    assert set(tab["status"]) <= {"scored", "skipped", "failed"}
    assert (tab.loc[tab["status"] != "scored", "reason"].str.len() > 10).all(), tab
    assert (tab.loc[tab["status"] == "scored", "reason"] == "").all()
    singles = tab[(tab["status"] == "scored") & (tab["model"] != "ensemble")]
    pooled = singles.sort_values("mae").query("mae <= 1.1 * mae.min()")["model"].tolist()  # best first
    assert sel.best.name == ("ensemble" if len(pooled) > 1 else pooled[0]), tab
    assert [m for m, _ in sel.best.params.get("members", [[sel.best.name, {}]])] == pooled, sel.best.params
    return tab.set_index("model")


@pytest.mark.parametrize("n, horizon, part", [(30, 6, 6), (60, 18, 18)])
def test_auto_on_short_monthly_series_never_fails(n, horizon, part):
    sel, final = auto(monthly(n), horizon, part)
    tab = check(sel)
    assert (tab["status"] == "scored").sum() >= 2, tab
    assert tab.loc["lstm", "status"] == "skipped" and "lstm needs at least" in tab.loc["lstm", "reason"], tab.loc[
        "lstm"
    ]
    assert len(final.forecasts) == part and np.isfinite(final.forecasts["yhat"]).all()


def test_auto_on_a_long_daily_series_scores_on_many_origins():
    df = load("sample:AAPL").iloc[-700:]
    sel, final = auto(df, 5, 100)
    tab = check(sel)
    assert (tab["status"] == "scored").sum() >= 4, tab
    assert sel.best.forecasts["cutoff"].nunique() == 20  # every origin of the validation part
    assert final.forecasts["cutoff"].nunique() == 20


def test_no_candidate_that_can_fit_stops_the_run_with_every_reason():
    cfg = TrainConfig(model="auto", candidates=["arima", "prophet", "lstm"], horizon=3, val_size=3, test_size=3)
    df = monthly(12)
    with pytest.raises(WorkflowError) as e:
        select_step(cfg, df, chrono_split(df, val=3, test=3), gate=None)
    msg = str(e.value)
    assert "no candidate could be scored" in msg and all(f"{m}:" in msg for m in ("arima", "prophet", "lstm")), msg


def test_a_single_configured_model_that_cannot_fit_is_the_runs_error():
    cfg = TrainConfig(model="arima", horizon=3, val_size=3, test_size=3)
    df = monthly(12)
    with pytest.raises(Exception, match="arima needs at least 10"):
        select_step(cfg, df, chrono_split(df, val=3, test=3), gate=None)
