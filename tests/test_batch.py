"""`forecast-nb batch` end to end: parallel papermill runs, one failing item, resume after a kill,
and a real Dask cluster on loopback."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
import pytest
import mlflow

BIN = Path(sys.executable).parent / "forecast-nb"
ENV = os.environ | {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}


def batch_file(tmp_path, grid, runs=()):
    spec = {
        "defaults": {
            "data": "sample:CO2",
            "val_size": 24,
            "test_size": 24,
            "horizon": 12,
            "features": {"lags": [0]},
            "gate": "none",
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
        },
        "grid": grid,
        "runs": list(runs),
    }
    (tmp_path / "batch.yaml").write_text(json.dumps(spec))  # JSON is YAML
    return "batch.yaml"


def batch(*args, cwd, **kw):
    return subprocess.run(
        [str(BIN), "batch", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600, **kw
    )


def records(folder):
    return {json.loads(p.read_text())["digest"]: json.loads(p.read_text()) for p in Path(folder).glob("*.result.json")}


def test_parallel_batch_with_a_failing_item_then_resume(tmp_path):
    f = batch_file(tmp_path, {"model": ["naive", "drift"]}, runs=[{"data": "sample:NOPE"}])
    r = batch(f, "--jobs", "2", cwd=tmp_path)
    assert r.returncode == 1, r.stderr[-2000:]  # one failure: non-zero, the others finished
    assert "2 of 3 finished" in r.stdout and "FAILED sample:NOPE" in r.stdout
    recs = records(tmp_path / "_runs" / "batch" / "batch")
    assert sorted(x["status"] for x in recs.values()) == ["FAILED", "FINISHED", "FINISHED"]
    assert all(
        Path(x["notebook"]).exists() for x in recs.values()
    )  # each item its own executed notebook, the failed one too
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=["forecast-nb"], filter_string="tags.`workflow.stage` = 'training'")
    assert sorted(runs["status"]) == ["FAILED", "FINISHED", "FINISHED"]
    again = batch(f, "--jobs", "2", "--json", cwd=tmp_path)
    table = json.loads(again.stdout.strip().splitlines()[-1])
    assert [t["skipped"] for t in table] == [False, True, True]  # finished items are not recomputed
    assert {
        x["run_id"] for x in records(tmp_path / "_runs" / "batch" / "batch").values() if x["status"] == "FINISHED"
    } == {x["run_id"] for x in recs.values() if x["status"] == "FINISHED"}


def test_killed_batch_resumes_without_losing_finished_items(tmp_path):
    f = batch_file(tmp_path, {"model": ["naive", "drift", "seasonal_naive"]})
    folder = tmp_path / "_runs" / "batch" / "batch"
    proc = subprocess.Popen(
        [str(BIN), "batch", f],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while not records(folder) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()  # the CLI and its kernel
    before = records(folder)
    assert 1 <= len(before) < 3
    r = batch(f, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    table = json.loads(r.stdout.strip().splitlines()[-1])
    assert sum(t["skipped"] for t in table) == len(before) and all(t["status"] == "FINISHED" for t in table)
    after = records(folder)
    assert all(after[k]["run_id"] == v["run_id"] for k, v in before.items())


def test_batch_on_a_dask_cluster(tmp_path):
    from dask.distributed import LocalCluster

    f = batch_file(tmp_path, {"model": ["naive", "drift"]})
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        r = batch(f, "--scheduler", cluster.scheduler_address, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    table = json.loads(r.stdout.strip().splitlines()[-1])
    assert [t["status"] for t in table] == ["FINISHED", "FINISHED"] and all(Path(t["notebook"]).exists() for t in table)


@pytest.mark.parametrize(
    "text, models",
    [
        (
            "defaults: {data: 'sample:CO2'}\nruns: [{model: naive}]\n",
            ["naive"],
        ),  # runs only: no phantom of the defaults
        ("defaults: {data: 'sample:CO2'}\ngrid: {model: [naive, drift]}\n", ["naive", "drift"]),  # grid only
        (
            "defaults: {data: 'sample:CO2'}\nruns: [{model: arima}, {model: naive}]\ngrid: {model: [naive, drift]}\n",
            ["arima", "naive", "drift"],
        ),
        ("runs: [{}, {data: 'sample:AAPL'}]\n", ["arima"]),  # equal to the defaults: once
    ],
)
def test_batch_files_have_exactly_the_items_they_list(tmp_path, text, models):
    from forecast_nb.batch import load_batch

    (tmp_path / "b.yaml").write_text(text)
    assert [c.model for c in load_batch(tmp_path / "b.yaml")] == models


@pytest.mark.parametrize("text", ["defaults: {data: 'sample:CO2'}\n", "runs: []\ngrid: {}\n"])
def test_a_batch_file_without_items_is_a_clear_error(tmp_path, text):
    from forecast_nb.batch import load_batch
    from forecast_nb.errors import ConfigError

    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(ConfigError, match="runs:|no items"):
        load_batch(tmp_path / "b.yaml")
