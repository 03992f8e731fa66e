"""M3 monthly: how `auto` should choose. Every candidate scored once per series, then choice rules side by side.

Per series (a seeded sample of M3 monthly, as `m3.py`, h=18, val_size=18): each of auto's single candidates is
scored on the validation origins as the workflow scores it (`score_candidate`), and its chosen specification is
fit on all training values and forecasts the 18 test points (`test_step`). The rules then only pick or combine
those forecasts, so they are compared on the same fits: `workflow` is what `select_step` does (`forecast_pool`:
the mean of every candidate within 10% of the best validation MAE, or the best alone); the others are the best
single alone, the best of the top-k means and medians (k and the combiner chosen on validation: the workflow's
rule before pooling), the mean of the top k always, pools of other widths, and a fixed mean of arima, ets and
theta. A combination's test forecast is the mean (median) of its members' test forecasts, which is what the
ensemble model forecasts. Scores: sMAPE and MASE as `m3.py` computes them.
Run: `.venv/bin/python benchmarks/m3_rules.py --sample 100 --seed 1 --jobs 2` (writes candidates.pkl under --out).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import argparse
import pickle
import time
import warnings
import numpy as np
import pandas as pd
from m3 import H, frame, load_m3, quiet, sample, scores, stderr_to

CANDIDATES = ("arima", "ets", "theta", "prophet", "lstm")


def candidates(sn: str, x: np.ndarray, xx: np.ndarray, log: str) -> dict:
    "Validation MAE and forecasts, and test forecasts, of every candidate that scores; the workflow's combination."
    from threadpoolctl import threadpool_limits
    from forecast_nb.config import TrainConfig
    from forecast_nb.selection import forecast_pool, score_candidate, test_step
    from forecast_nb.split import chrono_split

    quiet()
    out = {"series": sn, "x": x, "xx": xx, "cands": {}, "workflow": None}
    with warnings.catch_warnings(), threadpool_limits(1), stderr_to(log):
        warnings.simplefilter("ignore")
        df = frame(x, xx, "2000-01")
        cfg = TrainConfig(data="m3", model="auto", horizon=H, val_size=H, test_size=H, gate="none")
        split = chrono_split(df, val=H, test=H, gap=0)
        scored = []
        for name in CANDIDATES:
            c = score_candidate(cfg, df, split, name, cfg.params_for(name))
            if c.trained is None:
                continue
            try:
                test = test_step(cfg, df, split, name, c.params).forecasts.sort_values("step")["yhat"].to_numpy(float)
            except Exception:  # noqa: BLE001 - a candidate that cannot forecast the test part is left out
                continue
            scored.append(c.trained)
            val = c.trained.forecasts
            out["cands"][name] = {"mae": c.mae, "val": val["yhat"].to_numpy(float), "test": test}
            out["val_y"] = val["y"].to_numpy(float)
        pool = forecast_pool(cfg, scored)
        out["workflow"] = [m for m, _ in pool.params["members"]] if pool.trained else None
    return out


def _mae(y, f) -> float:
    return float(np.mean(np.abs(y - f)))


def _mean(c: dict, names: list, part: str, how: str = "mean") -> np.ndarray:
    return (np.mean if how == "mean" else np.median)([c[n][part] for n in names], axis=0)


def _ranked(c: dict) -> list:
    return sorted(c, key=lambda n: c[n]["mae"])


def workflow(r: dict) -> np.ndarray:
    "select_step's choice: the forecast pool when it formed one, else the best single."
    c = r["cands"]
    return _mean(c, r["workflow"], "test") if r["workflow"] else c[_ranked(c)[0]]["test"]


def best_top_k(r: dict) -> np.ndarray:
    "The best single, or the best top-k mean or median on validation when that is better (the rule before pooling)."
    c, y = r["cands"], r["val_y"]
    ranked = _ranked(c)
    options = [(k, how) for k in range(2, len(ranked) + 1) for how in ("mean", "median") if (k, how) != (2, "median")]
    mae = {o: _mae(y, _mean(c, ranked[: o[0]], "val", o[1])) for o in options}
    best = min(options, key=mae.get, default=None)
    if best is None or mae[best] >= c[ranked[0]]["mae"]:
        return c[ranked[0]]["test"]
    return _mean(c, ranked[: best[0]], "test", best[1])


def top(k: int):
    return lambda r: _mean(r["cands"], _ranked(r["cands"])[:k], "test")


def pool(share: float):
    "The mean of every candidate whose validation MAE is within `share` of the best one's."

    def rule(r: dict) -> np.ndarray:
        c = r["cands"]
        best = min(v["mae"] for v in c.values())
        return _mean(c, [n for n in c if c[n]["mae"] <= (1 + share) * best], "test")

    return rule


def fixed(names: tuple):
    return lambda r: _mean(r["cands"], [n for n in names if n in r["cands"]] or list(r["cands"]), "test")


RULES = {
    "workflow (forecast_pool: within 10% of the best, else the best)": workflow,
    "best single or best top-k mean/median on validation": best_top_k,
    "best single on validation": top(1),
    "mean of the top 2": top(2),
    "mean of the top 3": top(3),
    "pool: within 20% of the best": pool(0.20),
    "pool: within 50% of the best": pool(0.50),
    "mean of arima, ets, theta always": fixed(("arima", "ets", "theta")),
}


def compare(results: list) -> pd.DataFrame:
    "Mean sMAPE and MASE of each rule over the series where at least one candidate scored."
    rows = []
    for name, rule in RULES.items():
        s = np.array([scores(r["x"], r["xx"], rule(r)) for r in results if r["cands"]])
        rows.append({"rule": name, "series": len(s), "smape": s[:, 0].mean(), "mase": np.nanmean(s[:, 1])})
    return pd.DataFrame(rows)


def main(argv=None):
    from joblib import Parallel, delayed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(os.environ.get("FORECAST_NB_RUNS", "_runs"), "m3_rules"))
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    series, t = sample(load_m3(), args.sample, args.seed), time.perf_counter()
    log = os.path.join(args.out, "stderr.log")
    results = Parallel(n_jobs=args.jobs)(delayed(candidates)(sn, x, xx, log) for sn, x, xx in series)
    with open(os.path.join(args.out, "candidates.pkl"), "wb") as f:
        pickle.dump(results, f)
    print(f"M3 monthly: {len(series)} series (seed {args.seed}), candidates scored in {time.perf_counter() - t:.0f} s")
    print(compare(results).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
