"""`forecast-nb train` end to end: papermill on a real kernel, the executed notebook kept and logged,
the same numbers as the API."""

import json
import os
import subprocess
import sys
from pathlib import Path
import mlflow

BIN = Path(sys.executable).parent / "forecast-nb"
ENV = os.environ | {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
CONFIG = (
    "data: sample:CO2\nval_size: 36\ntest_size: 24\nhorizon: 12\n"
    "model: arima\nfeatures: {lags: [0]}\nexperiment: train-test\n"
)


def train(*args, cwd):
    return subprocess.run([str(BIN), "train", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=400)


def test_train_runs_the_notebook_and_agrees_with_the_api(tmp_path):
    (tmp_path / "run.yaml").write_text(CONFIG)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    r = train(
        "--config",
        "run.yaml",
        "-p",
        "model_params={order: [1, 1, 1], seasonal_order: [0, 1, 1, 12]}",
        "-p",
        f"tracking_uri={uri}",
        "--json",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert {
        "run_id",
        "status",
        "model",
        "metrics",
        "baseline_metrics",
        "gate_passed",
        "model_version",
        "promoted",
        "notebook",
    } <= set(s)
    assert (s["status"], s["model"], s["gate_passed"], s["model_version"], s["promoted"]) == (
        "FINISHED",
        "arima",
        True,
        "1",
        True,
    )
    nb = Path(s["notebook"])
    assert nb.exists() and nb.is_relative_to(tmp_path / "_runs" / "notebooks")  # outside nbs/
    executed = json.loads(nb.read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])
    client = mlflow.MlflowClient(uri)
    assert [a.path for a in client.list_artifacts(s["run_id"], "notebook")] == [f"notebook/{nb.name}"]
    assert client.get_run(s["run_id"]).data.metrics["test_mae"] == s["metrics"]["mae"]
    from forecast_nb.config import TrainConfig
    from forecast_nb.pipeline import run_training

    os.environ["FORECAST_NB_RUNS"] = str(tmp_path / "api")
    cfg = TrainConfig.from_yaml(tmp_path / "run.yaml").replace(
        model_params={"order": [1, 1, 1], "seasonal_order": [0, 1, 1, 12]}, tracking_uri=f"sqlite:///{tmp_path}/api.db"
    )
    api = run_training(cfg).to_dict()
    assert (
        api["metrics"] == s["metrics"] and api["baseline_metrics"] == s["baseline_metrics"]
    )  # the notebook and the API agree exactly


def test_a_failing_cell_keeps_the_notebook_and_fails_the_run(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    r = train("-p", "data=sample:NOPE", "-p", f"tracking_uri={uri}", cwd=tmp_path)
    assert (
        r.returncode == 2
        and "the train notebook failed in cell" in r.stderr
        and "SourceNotFoundError: no bundled sample named 'NOPE'" in r.stderr
    )
    kept = list((tmp_path / "_runs" / "notebooks").glob("*-train.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in r.stderr
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["forecast-nb"])
    assert len(runs) == 1 and runs["status"].iloc[0] == "FAILED" and "SourceNotFoundError" in runs["tags.error"].iloc[0]
    assert [a.path for a in mlflow.MlflowClient(uri).list_artifacts(runs["run_id"].iloc[0], "notebook")] == [
        f"notebook/{kept[0].name}"
    ]


def test_unknown_or_malformed_parameters_stop_before_anything_runs(tmp_path):
    r = train("-p", "horizn=5", cwd=tmp_path)
    assert r.returncode == 2 and "unknown config key(s) ['horizn']" in r.stderr
    r = train("-p", "horizon", cwd=tmp_path)
    assert r.returncode == 2 and "is not key=value" in r.stderr
    r = train("-p", "horizon=0", cwd=tmp_path)
    assert r.returncode == 2 and "horizon=0 is not a whole number >= 1" in r.stderr
    assert not (tmp_path / "_runs" / "notebooks").exists()


def test_the_tune_notebook_runs_through_papermill(tmp_path):
    from forecast_nb.runner import run_workflow

    out = run_workflow(
        "tune",
        {
            "method": "grid",
            "n_trials": 3,
            "summary_path": str(tmp_path / "s.json"),
            "storage": f"sqlite:///{tmp_path}/o.db",
            "tracking_uri": f"sqlite:///{tmp_path}/m.db",
        },
        tmp_path / "tune.ipynb",
        progress=False,
    )
    s = json.loads((tmp_path / "s.json").read_text())
    assert out.exists() and s["best_method"] == "grid" and s["table"]["grid"]["trials"] == 3
    children = mlflow.MlflowClient(f"sqlite:///{tmp_path}/m.db").search_runs(
        [mlflow.MlflowClient(f"sqlite:///{tmp_path}/m.db").get_experiment_by_name("forecast-nb-tuning").experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{s['mlflow_run_id']}'",
    )
    assert len(children) == 3
