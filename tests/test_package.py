"""Packaging promises: light import, bundled data, no pkg_resources."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODULES = ", ".join(
    f"forecast_nb.{m}" if m else "forecast_nb"
    for m in (
        *("", "data", "split", "config", "cli", "features", "prep", "pipeline", "metrics"),
        *("models", "models.arima", "models.prophet", "models.lstm"),
        *("tracking", "tuning", "registry", "runner", "batch"),
    )
)
HEAVY = ("tensorflow", "keras", "prophet", "cmdstanpy", "mlflow", "talib", "optuna")
HEAVY += ("statsmodels.tsa.statespace", "papermill", "dask", "fastapi")


def test_import_is_light_and_fast():
    code = (
        f"import sys, time; t0 = time.perf_counter(); import pandas, numpy; t = time.perf_counter(); import {MODULES};"
        f"dt = time.perf_counter() - t; heavy = [m for m in {HEAVY} if m in sys.modules];"
        "print(dt, time.perf_counter() - t0, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(
        maxsplit=2
    )
    assert out[2].strip() == "[]", f"heavy modules imported: {out[2]}"
    assert float(out[0]) < 1.0, f"forecast_nb's own imports took {out[0]} s beyond pandas and numpy"
    assert float(out[1]) < 3.0, f"import took {out[1]} s in all"


def test_samples_are_package_data():
    from forecast_nb.data import SAMPLES_DIR

    assert "samples/*.csv.gz" in (ROOT / "settings.ini").read_text()
    assert {p.name for p in SAMPLES_DIR.glob("*.csv.gz")} == {
        "AAPL.csv.gz",
        "GOOG.csv.gz",
        "IBM.csv.gz",
        "MSFT.csv.gz",
        "CO2.csv.gz",
    }
    assert (SAMPLES_DIR / "README.md").exists()


def test_workflow_notebooks_are_package_data():
    from forecast_nb.runner import workflow

    assert "workflows/*.ipynb" in (ROOT / "settings.ini").read_text()
    assert workflow("train").exists() and workflow("tune").exists() and workflow("monitor").exists()


def test_setup_py_has_no_pkg_resources():
    assert "pkg_resources" not in (ROOT / "setup.py").read_text().replace("No pkg_resources", "")


def test_settings_keep_papermill_tags_and_test_flags():
    text = (ROOT / "settings.ini").read_text()
    assert "allowed_cell_metadata_keys = tags" in text and "tst_flags = notest slow" in text


def test_the_training_notebook_has_one_parameter_per_config_field():
    "Issue 15: a new TrainConfig field fails here until the train notebook's `parameters` cell has it."
    import ast
    from forecast_nb.config import TrainConfig
    from forecast_nb.runner import notebook_parameters

    params = notebook_parameters("train")
    assert set(params) == set(TrainConfig.model_fields) | {"summary_path"}
    values = {k: ast.literal_eval(v) for k, v in params.items() if k in TrainConfig.model_fields}
    TrainConfig(**{k: v for k, v in values.items() if v is not None or k != "tracking_uri"})  # valid defaults
