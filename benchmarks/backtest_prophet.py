"""Walk-forward Prophet: our engine (`walk_forward`) against Prophet's own `prophet.diagnostics.cross_validation`.

Data: the last 2,500 trading days of sample:AAPL close. Backtest: horizon 5 trading days, a cutoff every 5 rows,
expanding window from 1,000 rows (300 cutoffs), 2 worker processes on each side, Prophet's default settings on
both sides (uncertainty_samples=1000, so both also simulate intervals; `--no-intervals` gives both sides
uncertainty_samples=0 instead). Prophet's side is `cross_validation(m, horizon="8 days", cutoffs=<our cutoffs>,
parallel="processes")`: it forecasts the trading days (the dates of its history) in the 8 calendar days after each
cutoff, ours the next 5 NYSE trading days; forecasts are compared on the (cutoff, ds) pairs both produce.
Prophet refuses cutoffs later than the last date minus the horizon, so it gets the 299 of our 300 cutoffs
that fit (one fewer than ours: in its favour for speed).

Targets (issue): `walk_forward` at refit_every=1 at least as fast as cross_validation, with the same forecasts
(yhat within 1e-6 relative); at refit_every=5 "much faster", taken here as at least 2x faster, with the Prophet
model's cheap update (`update_mode="anchor"`: parameters kept, level re-anchored on the last observation). The
default warm-started refit update is shown without a target: Prophet's fixed cost per fit (data preparation,
JSON for Stan, starting CmdStan) caps it near 1.5x. refit_every=20 (or other `--refit-every` values) shown
without a target; the MAE of every configuration is printed on the common dates.

Fairness: BLAS is limited to one thread everywhere (OMP/OPENBLAS/MKL_NUM_THREADS=1 set before numpy is
imported, so the forkserver and the worker processes of cross_validation inherit it; our engine also pins
one thread per worker with threadpoolctl). The raw Prophet is built from our model's parameters (checked).
Untimed warm-up calls on both sides first (our loky workers start and import Prophet; Prophet's forkserver
starts, preloading this script and so Prophet) - their times are shown as cold-start rows. The raw model's
fit on the whole series, which cross_validation requires, is not counted in its time.
Run: `.venv/bin/python benchmarks/backtest_prophet.py [--repeats N] [--no-intervals] [--refit-every 1 5 20]`
(about 4 minutes on the idle 2-core machine: each configuration is ~300 Prophet fits; other work on the machine
slows the sides unevenly, so the load average is printed; with N > 1 the configurations are interleaved,
ours r=1 / Prophet / ours r=5 / ours r=20, and medians shown).
Exit status 1 when a target is missed.
"""

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"  # before numpy: inherited by every process of both sides
import argparse
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
import numpy as np
import pandas as pd
from forecast_nb.data import load
from forecast_nb.backtest import walk_forward
from forecast_nb.models import get_model
from forecast_nb.models.prophet import _import_prophet
from common import timed, report

RawProphet = _import_prophet()  # at import time: the forkserver of cross_validation preloads Prophet too
from prophet.diagnostics import cross_validation

for _name in ("cmdstanpy", "prophet"):
    logging.getLogger(_name).setLevel(logging.WARNING)  # quiet, as our model is

ROWS, HORIZON, INITIAL, STEP, N_JOBS = 2500, 5, 1000, 5, 2
CV_HORIZON = "8 days"  # calendar days covering 5 trading days (fewer around holidays)
TOL, MUCH_FASTER = 1e-6, 2.0


def raw_prophet(params: dict):
    "prophet.Prophet with the settings our forecaster passes (forecast_nb/models/prophet.py `_new_model`)."
    p = get_model("prophet", **params).params
    m = RawProphet(
        growth=p["growth"],
        changepoint_prior_scale=p["changepoint_prior_scale"],
        seasonality_prior_scale=p["seasonality_prior_scale"],
        holidays_prior_scale=p["holidays_prior_scale"],
        seasonality_mode=p["seasonality_mode"],
        changepoint_range=p["changepoint_range"],
        n_changepoints=p["n_changepoints"],
        yearly_seasonality=p["yearly_seasonality"],
        weekly_seasonality=p["weekly_seasonality"],
        daily_seasonality=p["daily_seasonality"],
        uncertainty_samples=p["uncertainty_samples"],
        mcmc_samples=0,
    )
    ours = get_model("prophet", **params)._new_model([])
    keys = (
        "growth",
        "changepoint_prior_scale",
        "seasonality_prior_scale",
        "holidays_prior_scale",
        "seasonality_mode",
        "changepoint_range",
        "n_changepoints",
        "yearly_seasonality",
        "weekly_seasonality",
        "daily_seasonality",
        "uncertainty_samples",
        "mcmc_samples",
        "interval_width",
        "scaling",
        "holidays",
        "country_holidays",
    )
    diff = [k for k in keys if repr(getattr(m, k)) != repr(getattr(ours, k))]
    assert not diff, f"raw Prophet differs from ours in {diff}"
    return m


def blas_threads():
    from threadpoolctl import threadpool_info

    return sorted({(i["internal_api"], i["num_threads"]) for i in threadpool_info()})


def ours(y, params, refit_every, **kw):
    kw = {"horizon": HORIZON, "initial": INITIAL, "step": STEP} | kw
    return walk_forward(
        ("prophet", params),
        y,
        refit_every=refit_every,
        n_jobs=N_JOBS,
        progress=False,
        level=(80, 95) if params.get("uncertainty_samples", 1) else (),
        **kw,
    )


def prophets(m, cutoffs):
    days = (cutoffs[0] - m.history["ds"].min()).days
    return cross_validation(
        m,
        initial=f"{days} days",
        period=f"{STEP + 2} days",
        horizon=CV_HORIZON,
        cutoffs=list(cutoffs),
        parallel="processes",
        disable_tqdm=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--no-intervals", action="store_true")
    ap.add_argument(
        "--refit-every",
        type=int,
        nargs="+",
        default=[1, 5, 20],
        help="refit_every values of our engine (1 and 5 always run)",
    )
    args = ap.parse_args()
    REFITS = tuple(sorted({1, 5} | set(args.refit_every)))
    params = {"uncertainty_samples": 0} if args.no_intervals else {}

    load_before = os.getloadavg()[0]  # other work on the machine skews both sides: shown below
    y = load("sample:AAPL")["close"].iloc[-ROWS:]
    assert y.index.tz is None, "the comparison keys on tz-naive dates"
    df = pd.DataFrame({"ds": y.index, "y": y.to_numpy()})
    cutoffs = pd.DatetimeIndex(
        walk_forward("naive", y, horizon=HORIZON, initial=INITIAL, step=STEP, progress=False)
        .forecasts["cutoff"]
        .unique()
    )
    cv_cutoffs = [
        pd.Timestamp(c) for c in cutoffs if c <= df["ds"].max() - pd.Timedelta(CV_HORIZON)
    ]  # what Prophet accepts
    m = raw_prophet(params)
    fit_s, _ = timed(lambda: m.fit(df))

    # Warm-up (untimed in the comparison): our loky workers, Prophet's forkserver; shown as cold-start rows.
    cold_ours, _ = timed(lambda: ours(y, params, 1, initial=ROWS - 4 * STEP))
    cold_cv, _ = timed(lambda: prophets(m, cv_cutoffs[-3:]))
    ctx = multiprocessing.get_context("forkserver")  # the context cross_validation uses on Linux
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        worker_blas = pool.submit(blas_threads).result()

    times = {k: [] for k in [f"ours{k}" for k in REFITS] + ["cv", "anchor5"]}
    res = {}
    for _ in range(args.repeats):  # interleaved: ours r=1, Prophet, ours r=5, r=20
        s, res["ours1"] = timed(lambda: ours(y, params, 1))
        times["ours1"].append(s)
        s, res["cv"] = timed(lambda: prophets(m, cv_cutoffs))
        times["cv"].append(s)
        for k in REFITS[1:]:
            s, res[f"ours{k}"] = timed(lambda: ours(y, params, k))
            times[f"ours{k}"].append(s)
        s, res["anchor5"] = timed(lambda: ours(y, params | {"update_mode": "anchor"}, 5))
        times["anchor5"].append(s)
    med = {k: float(np.median(v)) for k, v in times.items()}

    for k in REFITS:
        assert (pd.DatetimeIndex(res[f"ours{k}"].forecasts["cutoff"].unique()) == cutoffs).all(), (
            "cutoffs differ between runs"
        )
    cv = res["cv"][["cutoff", "ds", "y", "yhat"]].rename(columns={"y": "y_cv", "yhat": "prophet_cv"})
    common = cv
    for k in REFITS:
        f = res[f"ours{k}"].forecasts[["cutoff", "ds", "y", "yhat"]].rename(columns={"y": f"y{k}", "yhat": f"ours{k}"})
        common = common.merge(f, on=["cutoff", "ds"], how="inner")
    common = common.merge(
        res["anchor5"].forecasts[["cutoff", "ds", "yhat"]].rename(columns={"yhat": "anchor5"}),
        on=["cutoff", "ds"],
        how="inner",
    )
    ours_pairs = len(res["ours1"].forecasts)
    assert np.array_equal(common["y_cv"].to_numpy(), common["y1"].to_numpy()), (
        "actuals differ: the sides forecast different rows"
    )
    rel = (common["ours1"] / common["prophet_cv"] - 1).abs()
    max_rel = float(rel.max())
    mae = {
        c: float((common["y1"] - common[c]).abs().mean())
        for c in ["prophet_cv"] + [f"ours{k}" for k in REFITS] + ["anchor5"]
    }
    naive_mae = float(
        (
            common["y1"]
            - common.merge(res["ours1"].forecasts[["cutoff", "ds", "y_origin"]], on=["cutoff", "ds"])["y_origin"]
        )
        .abs()
        .mean()
    )

    r = f"median of {args.repeats}" if args.repeats > 1 else "one run each"
    print(
        f"Walk-forward Prophet on sample:AAPL close, last {len(y):,} trading days; "
        f"horizon {HORIZON}, step {STEP}, initial {INITIAL}; "
        f"{N_JOBS} processes per side (ours n_jobs={N_JOBS}; "
        f"cross_validation's pool: os.cpu_count() = {os.cpu_count()}); {r}"
    )
    print(
        f"cutoffs: ours {len(cutoffs)}, cross_validation {len(cv_cutoffs)} (horizon {CV_HORIZON!r}); "
        f"forecasts: ours {ours_pairs}, "
        f"cross_validation {len(res['cv'])}, (cutoff, ds) pairs in common {len(common)}"
    )
    intervals = (
        "none (uncertainty_samples=0, level=())"
        if args.no_intervals
        else "uncertainty_samples=1000 on both sides (ours: 80% + 95%, Prophet: 80%)"
    )
    print(
        f"intervals: {intervals}; "
        f"BLAS threads: parent {blas_threads()}, a cross_validation (forkserver) worker {worker_blas}"
    )
    rows = [
        ("cold start: walk_forward r=1, 4 cutoffs", cold_ours, None),
        ("cold start: cross_validation, 3 cutoffs", cold_cv, None),
        (f"raw Prophet fit on all {len(y):,} rows (not counted)", fit_s, None),
        (f"prophet cross_validation, {len(cv_cutoffs)} cutoffs", med["cv"], None),
        (f"walk_forward refit_every=1, {len(cutoffs)} cutoffs", med["ours1"], med["cv"]),
        ("walk_forward refit_every=5, warm-refit updates", med["ours5"], None),
        ("walk_forward refit_every=5, update_mode='anchor'", med["anchor5"], med["cv"] / MUCH_FASTER),
    ]
    rows += [(f"walk_forward refit_every={k}", med[f"ours{k}"], None) for k in REFITS if k not in (1, 5)]
    ok = report(rows, width=52)
    print(
        f"1-minute load average before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        f"(on {os.cpu_count()} CPUs; above ~{N_JOBS + 1} "
        f"means other work shared the CPUs: rerun, or use --repeats)"
    )
    print(
        "\nspeed vs cross_validation (its s / ours): "
        + ", ".join(f"refit_every={k}: {med['cv'] / med[f'ours{k}']:.2f}x" for k in REFITS)
        + f", refit_every=5 anchored: {med['cv'] / med['anchor5']:.2f}x  "
        + f"(target: >= 1x at 1, >= {MUCH_FASTER:g}x at 5 with the cheap update)"
    )
    print(
        f"per cutoff (x{N_JOBS} processes): cross_validation {med['cv'] / len(cv_cutoffs):.3f} s, "
        + ", ".join(f"ours r={k} {med[f'ours{k}'] / len(cutoffs):.3f} s" for k in REFITS)
    )
    same = max_rel <= TOL
    print(
        f"yhat, ours refit_every=1 vs cross_validation: max relative difference {max_rel:.3g} over {len(common)} pairs "
        f"(target <= {TOL:g}: {'yes' if same else 'NO'})"
    )
    for k in REFITS[1:]:
        print(
            f"yhat, ours refit_every={k} vs cross_validation: max relative difference "
            f"{float((common[f'ours{k}'] / common['prophet_cv'] - 1).abs().max()):.3g}"
        )
    print(
        f"MAE on the {len(common)} common pairs: "
        + ", ".join(f"{c} {v:.4f}" for c, v in mae.items())
        + f", naive (last close) {naive_mae:.4f}"
    )
    return ok and same


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
