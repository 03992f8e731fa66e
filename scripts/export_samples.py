"""Export the bundled sample series into `forecast_nb/samples/` (run once; the outputs are committed).

Needs `pip install bokeh-sampledata==2026.1` (not a project dependency) and statsmodels.
See `forecast_nb/samples/README.md` for origins and licences.
"""
from pathlib import Path
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "forecast_nb" / "samples"

def export_stocks():
    "AAPL, GOOG, IBM, MSFT daily OHLCV (Quandl WIKI via bokeh_sampledata), split/dividend-adjusted."
    import bokeh_sampledata, gzip
    src = Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz"
    raw = pd.read_csv(src, parse_dates=["Date"])
    for ticker, g in raw.groupby("Ticker"):
        if ticker == "FB": continue  # under a year of history: too short to be a useful sample
        ratio = g["Adj Close"] / g["Close"]
        out = pd.DataFrame({"date": g["Date"].dt.strftime("%Y-%m-%d"),
                            **{c.lower(): (g[c] * ratio).round(6) for c in ("Open", "High", "Low", "Close")},
                            "volume": g["Volume"].astype("int64"),
                            "close_unadjusted": g["Close"]})
        with gzip.open(OUT / f"{ticker}.csv.gz", "wt", compresslevel=9) as f: out.to_csv(f, index=False)

def export_co2():
    "Mauna Loa CO2 (statsmodels.datasets.co2), weekly -> monthly mean, the rare empty months interpolated."
    import gzip
    from statsmodels.datasets import co2
    s = co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    out = pd.DataFrame({"date": s.index.strftime("%Y-%m-%d"), "co2": s.round(4).values})
    with gzip.open(OUT / "CO2.csv.gz", "wt", compresslevel=9) as f: out.to_csv(f, index=False)

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    export_stocks(); export_co2()
    print(sorted(p.name for p in OUT.glob("*.csv.gz")))
