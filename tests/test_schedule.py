"""`forecast-nb schedule --once`: a cron firing in seconds runs the training notebook;
a second trigger of the same job is skipped, not run twice."""

import json
import os
import subprocess
import sys
from pathlib import Path
import mlflow

BIN = Path(sys.executable).parent / "forecast-nb"
ENV = os.environ | {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_schedule_once_fires_logs_and_never_overlaps(tmp_path):
    params = [
        "data=sample:CO2",
        "model=naive",
        "gate=none",
        "val_size=24",
        "test_size=24",
        "horizon=12",
        "features={lags: [0]}",
        f"tracking_uri=sqlite:///{tmp_path}/mlflow.db",
    ]
    cmd = [str(BIN), "schedule", "--cron", "*/5 * * * * *", "--once", *[a for p in params for a in ("-p", p)]]
    from forecast_nb.tracking import experiment_id

    experiment_id("forecast-nb", f"sqlite:///{tmp_path}/mlflow.db")  # the store exists, as it would in production
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert all("next firing" in o[0] for o in outs)
    logs = list((tmp_path / "_runs" / "schedule").glob("*.log"))
    entries = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert len(logs) == 1 and sorted(e["status"] for e in entries) == ["FINISHED", "SKIPPED"]
    done = [e for e in entries if e["status"] == "FINISHED"][0]
    assert mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").get_run(done["run_id"]).info.status == "FINISHED"
    assert Path(done["notebook"]).exists()


def test_bad_cron_is_a_clear_error(tmp_path):
    r = subprocess.run(
        [str(BIN), "schedule", "--cron", "0 25 * * *", "--once"],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "cron='0 25 * * *'" in r.stderr
