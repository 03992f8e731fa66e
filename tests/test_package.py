"""Packaging promises: light import, bundled data, no pkg_resources."""
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_import_is_light_and_fast():
    code = ("import sys, time; t = time.perf_counter(); import forecast_nb, forecast_nb.data, forecast_nb.split, forecast_nb.config, forecast_nb.cli, forecast_nb.features, forecast_nb.prep, forecast_nb.pipeline, forecast_nb.metrics, forecast_nb.models, forecast_nb.models.arima, forecast_nb.models.prophet, forecast_nb.models.lstm;"
            "dt = time.perf_counter() - t; heavy = [m for m in ('tensorflow', 'keras', 'prophet', 'cmdstanpy', 'mlflow', 'talib', 'optuna', 'statsmodels.tsa.statespace') if m in sys.modules];"
            "print(dt, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(maxsplit=1)
    assert out[1].strip() == "[]", f"heavy modules imported: {out[1]}"
    assert float(out[0]) < 1.0, f"import took {out[0]} s"

def test_samples_are_package_data():
    from forecast_nb.data import SAMPLES_DIR
    assert "samples/*.csv.gz" in (ROOT / "settings.ini").read_text()
    assert {p.name for p in SAMPLES_DIR.glob("*.csv.gz")} == {"AAPL.csv.gz", "GOOG.csv.gz", "IBM.csv.gz", "MSFT.csv.gz", "CO2.csv.gz"}
    assert (SAMPLES_DIR / "README.md").exists()

def test_setup_py_has_no_pkg_resources():
    assert "pkg_resources" not in (ROOT / "setup.py").read_text().replace("No pkg_resources", "")

def test_settings_keep_papermill_tags_and_test_flags():
    text = (ROOT / "settings.ini").read_text()
    assert "allowed_cell_metadata_keys = tags" in text and "tst_flags = notest slow" in text
