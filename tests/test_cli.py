"""The `forecast-nb` command end to end, in subprocesses, against a real MLflow SQLite store."""
import os, subprocess, sys
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent / "forecast-nb"

def run(*args, cwd):
    env = os.environ | {"MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)

def test_data_list(tmp_path):
    r = run("data", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("AAPL", "GOOG", "IBM", "MSFT", "CO2"): assert name in r.stdout
    assert "NYSE" in r.stdout and "MS" in r.stdout

def test_data_show_reports_summary(tmp_path):
    r = run("data", "show", "sample:MSFT", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for key in ("rows", "3270", "start", "2000-03-01", "freq", "gaps", "columns"): assert key in r.stdout

def test_data_show_gaps_and_fill(tmp_path):
    csv = tmp_path / "holes.csv"
    csv.write_text("date,sales\n2020-01-01,1\n2020-02-01,2\n2020-04-01,4\n2020-05-01,5\n")
    bad = run("data", "show", str(csv), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: 1 timestamp(s) missing against freq MS, first at 2020-03-01")
    assert "Traceback" not in bad.stderr
    ok = run("data", "show", str(csv), "--fill", "interpolate", cwd=tmp_path)
    assert ok.returncode == 0 and "gaps" in ok.stdout and "3.0" in ok.stdout

def test_demo_logs_to_mlflow_and_says_how_to_look(tmp_path):
    r = run("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "loaded sample:AAPL: 3270 rows" in r.stdout and "NYSE trading days" in r.stdout
    assert "features: 35 (30 past, shifted by the horizon 5; 5 known calendar)" in r.stdout and "leakage check passed" in r.stdout
    assert "model ARIMA(" in r.stdout and "validation: 490 forecasts from 98 origins, 5 steps ahead; MAE vs naive" in r.stdout
    assert "mlflow ui --backend-store-uri sqlite:///mlflow.db" in r.stdout
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "mlartifacts").exists()
    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=["forecast-nb"], filter_string="tags.workflow.stage = 'training'")
    assert len(runs) == 1 and runs["metrics.rows_test"].iloc[0] == 490
    assert runs["tags.leakage_check"].iloc[0] == "passed" and runs["metrics.features_past"].iloc[0] == 30
    assert runs["metrics.val_mae_vs_naive"].iloc[0] > 0 and runs["tags.gate"].iloc[0] in ("passed", "failed")
    assert runs["tags.deploy.decision"].iloc[0] in r.stdout                        # what happened to the model, said on the terminal too
    children = mlflow.search_runs(experiment_names=["forecast-nb"], filter_string=f"tags.mlflow.parentRunId = '{runs['run_id'].iloc[0]}'")
    assert len(children) == 1 and abs(children["metrics.val_mae"].iloc[0] - runs["metrics.val_mae"].iloc[0]) < 1e-12

def test_run_with_yaml_features_and_horizon(tmp_path):
    (tmp_path / "co2.yaml").write_text("data: sample:CO2\nval_size: 24\ntest_size: 24\nfeatures:\n  lags: [0, 12]\n  decomposition: stl\n")
    r = run("run", "--config", "co2.yaml", "--horizon", "12", "--model", "seasonal_naive", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "freq MS" in r.stdout and "shifted by the horizon 12" in r.stdout and "24 forecasts from 2 origins" in r.stdout

def test_run_model_params_json(tmp_path):
    r = run("run", "--data", "sample:CO2", "--val-size", "36", "--test-size", "12", "--horizon", "12", "--model", "arima",
            "--model-params", '{"order": [1, 1, 1], "seasonal_order": [0, 1, 1, 12], "log": true}', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ARIMA(1, 1, 1)(0, 1, 1, 12) trend='n' on log values" in r.stdout
    bad = run("run", "--data", "sample:CO2", "--model", "arima", "--model-params", '{"order": [1, 1]}', cwd=tmp_path)
    assert bad.returncode == 2 and "order=(1, 1) must be 3 whole numbers" in bad.stderr.replace("[1, 1]", "(1, 1)")

def test_run_bad_config_exits_2(tmp_path):
    (tmp_path / "c.yaml").write_text("data: sample:CO2\nvall: 3\n")
    r = run("run", "--config", "c.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "unknown config key(s) ['vall']" in r.stderr
