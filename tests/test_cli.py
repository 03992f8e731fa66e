"""The `forecast-nb` command end to end, in subprocesses, against a real MLflow SQLite store."""

import os
import subprocess
import sys
from pathlib import Path
import pytest

BIN = Path(sys.executable).parent / "forecast-nb"


def run(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "ignore",
    }  # the default store, whatever an earlier test set
    return subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_data_list(tmp_path):
    r = run("data", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("AAPL", "GOOG", "IBM", "MSFT", "CO2"):
        assert name in r.stdout
    assert "NYSE" in r.stdout and "MS" in r.stdout


def test_data_show_reports_summary(tmp_path):
    r = run("data", "show", "sample:MSFT", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for key in ("rows", "3270", "start", "2000-03-01", "freq", "gaps", "columns"):
        assert key in r.stdout


def test_data_show_gaps_and_fill(tmp_path):
    csv = tmp_path / "holes.csv"
    csv.write_text("date,sales\n2020-01-01,1\n2020-02-01,2\n2020-04-01,4\n2020-05-01,5\n")
    bad = run("data", "show", str(csv), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith(
        "error: 1 timestamp(s) missing against freq MS, first at 2020-03-01"
    )
    assert "Traceback" not in bad.stderr
    ok = run("data", "show", str(csv), "--fill", "interpolate", cwd=tmp_path)
    assert ok.returncode == 0 and "gaps" in ok.stdout and "3.0" in ok.stdout


def test_demo_runs_the_whole_workflow_and_says_where_everything_is(tmp_path):
    "Issue 16: two runs, a monthly series where a model earns production and the daily one, each said plainly."
    r = run("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    for phrase in (
        "[1/2] training on sample:CO2, 12 steps ahead: candidates arima, ets, theta, prophet, lstm, ensemble",
        "[2/2] training on sample:AAPL, 5 steps ahead: candidates arima, ets, theta, prophet, lstm, ensemble",
        "chosen model: ",
        "test scores (touched once) beside the naive baseline",
        "gate: ",
        "model: ",
        "executed notebook: ",
        "plots: ",
        "mlflow ui --backend-store-uri sqlite:///mlflow.db",
    ):
        assert phrase in out, phrase
    notebook = Path([line for line in out.splitlines() if line.startswith("executed notebook: ")][0].split(": ", 1)[1])
    assert notebook.exists() and notebook.is_relative_to(tmp_path / "_runs")
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "mlartifacts").exists()
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=["forecast-nb"], filter_string="tags.`workflow.stage` = 'training'")
    runs = runs.set_index("params.data").loc[["sample:CO2", "sample:AAPL"]]
    assert runs["metrics.rows_test"].tolist() == [24, 490] and set(runs["tags.leakage_check"]) == {"passed"}
    for decision in runs["tags.deploy.decision"]:
        assert decision in out  # what happened to each model, said on the terminal too
    co2 = runs.loc["sample:CO2"]
    assert co2["tags.deploy.promoted"] == "true" and co2["metrics.test_mae_vs_naive"] < 0.5, co2["tags.deploy.decision"]
    aapl = runs.loc["sample:AAPL"]
    if aapl["tags.deploy.promoted"] == "true":  # promoted only when it beats naive on the test part
        assert aapl["metrics.test_mae_vs_naive"] < 1
    else:  # the gate failed on validation, or the test confirmation blocked it (and says why)
        blocked = aapl.get("tags.deploy.blocked")
        assert "the gate failed" in aapl["tags.deploy.decision"] or (isinstance(blocked, str) and blocked), aapl
    children = mlflow.search_runs(
        experiment_names=["forecast-nb"], filter_string=f"tags.mlflow.parentRunId = '{aapl['run_id']}'"
    )
    names = {f"candidate-{m}-r0" for m in ("arima", "ets", "theta", "prophet", "lstm")}
    names |= {f"candidate-{m}+features-r0" for m in ("arima", "prophet", "lstm")}  # scored with and without them
    got = set(children["tags.mlflow.runName"])
    assert names <= got and got & {"candidate-ensemble-r0", "candidate-ensemble+features-r0"}, got
    assert set(children["tags.status"].dropna()) <= {"scored", "skipped", "failed"}


def test_run_with_yaml_features_and_horizon(tmp_path):
    (tmp_path / "co2.yaml").write_text(
        "data: sample:CO2\nval_size: 24\ntest_size: 24\nfeatures:\n  lags: [0, 12]\n  decomposition: stl\n"
    )
    r = run("run", "--config", "co2.yaml", "--horizon", "12", "--model", "seasonal_naive", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        "freq MS" in r.stdout
        and "shifted by the horizon 12" in r.stdout
        and "36 forecasts from 3 origins" in r.stdout  # two in validation, one before it
    )


def test_run_model_params_json(tmp_path):
    r = run(
        "run",
        "--data",
        "sample:CO2",
        "--val-size",
        "36",
        "--test-size",
        "12",
        "--horizon",
        "12",
        "--model",
        "arima",
        "--model-params",
        '{"order": [1, 1, 1], "seasonal_order": [0, 1, 1, 12], "log": true}',
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "ARIMA(1, 1, 1)(0, 1, 1, 12) trend='n' on log values" in r.stdout
    bad = run("run", "--data", "sample:CO2", "--model", "arima", "--model-params", '{"order": [1, 1]}', cwd=tmp_path)
    assert bad.returncode == 2 and "order=(1, 1) must be 3 whole numbers" in bad.stderr.replace("[1, 1]", "(1, 1)")


def test_run_bad_config_exits_2(tmp_path):
    (tmp_path / "c.yaml").write_text("data: sample:CO2\nvall: 3\n")
    r = run("run", "--config", "c.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "unknown config key(s) ['vall']" in r.stderr


def test_a_horizon_the_split_cannot_score_is_refused_before_anything_runs(tmp_path):
    r = run("run", "--data", "sample:CO2", "--horizon", "500", "--model", "naive", cwd=tmp_path)
    assert (
        r.returncode == 2
        and "horizon=500 cannot be scored" in r.stderr
        and "rows" in r.stderr
        and "Traceback" not in r.stderr
    )
    assert not (tmp_path / "mlflow.db").exists()  # no run logged
    r = run("tune", "--model", "naive", "--data", "sample:CO2", "--horizon", "500", "--no-tracking", cwd=tmp_path)
    assert r.returncode == 2 and "horizon=500 cannot be scored" in r.stderr


def test_a_run_that_fails_after_loading_leaves_no_empty_pending_folder(tmp_path):
    r = run("run", "--data", "sample:CO2", "--model", "arima", "--model-params", '{"nonsense": 1}', cwd=tmp_path)
    assert r.returncode == 2 and "nonsense" in r.stderr
    assert not list((tmp_path / "_runs" / "pending").glob("*"))


@pytest.mark.parametrize(
    "cmd",
    [
        ["run", "--data", "sample:CO2", "--model", "naive"],
        ["train", "-p", "data=sample:CO2", "-p", "model=naive"],
        ["batch", "b.yaml"],
    ],
)
def test_a_run_folder_that_cannot_be_written_is_one_line_exit_2(tmp_path, cmd):
    (tmp_path / "b.yaml").write_text("runs: [{data: sample:CO2, model: naive}]\n")
    (tmp_path / "file").write_text("")  # a path under a file cannot be a folder, whoever runs the test
    env = {"FORECAST_NB_RUNS": str(tmp_path / "file" / "runs")}
    r = subprocess.run(
        [str(BIN), *cmd],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | env | {"PYTHONWARNINGS": "ignore"},
    )
    assert r.returncode == 2, r.stderr[-2000:]
    assert (
        "Traceback" not in r.stderr
        and r.stderr.strip().startswith("error: cannot write to the folder")
        and "FORECAST_NB_RUNS" in r.stderr
    )


def test_tune_keeps_its_files_where_the_environment_says(tmp_path):
    env = {k: v for k, v in os.environ.items()} | {
        "FORECAST_NB_RUNS": str(tmp_path / "runs"),
        "PYTHONWARNINGS": "ignore",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/store/mlflow.db",
    }
    r = subprocess.run(
        [
            str(BIN),
            "tune",
            "--model",
            "drift",
            "--data",
            "sample:CO2",
            "--method",
            "random",
            "--n-trials",
            "2",
            "--horizon",
            "12",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (
        (tmp_path / "runs" / "optuna.db").exists()
        and (tmp_path / "store" / "mlflow.db").exists()
        and not (tmp_path / "_runs").exists()
    )
    assert not (tmp_path / "mlflow.db").exists()


def test_serve_warns_that_a_token_on_the_command_line_shows_in_ps(tmp_path):
    r = run("serve", "--name", "nothing-here", "--token", "s3cret", cwd=tmp_path)
    assert "warning: --token shows in the process list" in r.stderr and "FORECAST_NB_TOKEN" in r.stderr
    assert r.returncode == 2 and "s3cret" not in r.stderr + r.stdout


def test_every_config_field_is_an_option_of_the_training_commands_with_its_description(tmp_path):
    "Issue 15: the options of run, demo, train and schedule are made from TrainConfig's fields."
    from forecast_nb.config import TrainConfig

    for cmd in ("run", "demo", "train", "schedule"):
        r = run(cmd, "--help", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        text = " ".join(r.stdout.split())
        for name, field in TrainConfig.model_fields.items():
            flag = ("--no-" if field.annotation is bool else "--") + name.replace("_", "-")
            assert flag in text, (cmd, flag)
            assert " ".join(field.description.split())[:40] in text, (cmd, name)


def test_demo_help_shows_the_demo_defaults(tmp_path):
    demo = " ".join(run("demo", "--help", cwd=tmp_path).stdout.split())
    for default in ("(default: auto)", "(default: bayes)", "(default: 6)", '(default: {"prophet": {"update_mode"'):
        assert default in demo, default
    plain = " ".join(run("run", "--help", cwd=tmp_path).stdout.split())
    assert "(default: arima)" in plain and "(default: none)" in plain and "(default: 6)" not in plain


def test_every_option_of_every_command_has_help():
    import argparse
    from forecast_nb.cli import build_parser

    def parsers(p):
        yield p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for q in a.choices.values():
                    yield from parsers(q)

    missing = [
        (q.prog, a.option_strings or a.dest)
        for q in parsers(build_parser())
        for a in q._actions
        if not a.help and not isinstance(a, argparse._SubParsersAction)
    ]
    assert not missing, missing
