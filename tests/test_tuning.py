"""Tuning: resumes after a real SIGKILL, records failing trials, shares one study between workers on PostgreSQL."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
import optuna
import pytest
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.tuning import tune

BIN = Path(sys.executable).parent / "forecast-nb"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENV = os.environ | {"PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg"}
COMPLETE, PRUNED, FAIL, RUNNING = (optuna.trial.TrialState[s] for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING"))


def _trials(storage, name, states=(COMPLETE,)):
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False, states=states)
    except KeyError:
        return []


def test_killed_study_resumes_with_every_finished_trial(tmp_path):
    storage, name = f"sqlite:///{tmp_path}/optuna.db", "arima-kill"
    cmd = [
        str(BIN),
        "tune",
        "--model",
        "arima",
        "--data",
        "sample:CO2",
        "--method",
        "random",
        "--n-trials",
        "8",
        "--refit-every",
        "1",
        "--storage",
        storage,
        "--study",
        name,
        "--json",
        "--no-tracking",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while len(_trials(storage, name)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the study finished before it could be killed: make the trials longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {t.number: t.value for t in _trials(storage, name)}
    assert 2 <= len(before) < 8
    r = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr
    after = {t.number: t.value for t in _trials(storage, name)}
    finished = _trials(storage, name, (COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL))
    assert all(after[k] == v for k, v in before.items())  # nothing computed was lost
    spent = [t for t in finished if t.state != optuna.trial.TrialState.FAIL or "fail_reason" in t.user_attrs]
    assert len(spent) == 8  # the rest of the budget ran, no more
    killed = [t for t in finished if t.state == optuna.trial.TrialState.FAIL and "fail_reason" not in t.user_attrs]
    assert [t.system_attrs.get("failed_trial") for t in finished if "failed_trial" in t.system_attrs] == [
        k.number for k in killed
    ]  # and retried


def test_failing_trials_are_recorded_with_their_reason(tmp_path):
    co2 = load("sample:CO2")
    res = tune(
        "arima",
        co2,
        method="grid",
        n_trials=2,
        space={"order": {"grid": [(1, 1, 1), (1, -1, 1)]}},
        storage=f"sqlite:///{tmp_path}/o.db",
    )
    trials = res.studies["grid"].get_trials(deepcopy=False)
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(trials) == 2 and len(failed) == 1 and res.best_params == {"order": (1, 1, 1)}
    assert "ConfigError: order=(1, -1, 1) must be 3 whole numbers" in failed[0].user_attrs["fail_reason"]
    assert res.table.loc["grid", "failed"] == 1 and res.failures()["reason"].str.contains("order=").all()


def _grid_cmd(name, *extra):
    return [
        str(BIN),
        "tune",
        "--model",
        "arima",
        "--data",
        "sample:CO2",
        "--method",
        "grid",
        "--n-trials",
        "14",
        "--refit-every",
        "5",
        "--storage",
        PG,
        "--study",
        name,
        "--json",
        *extra,
    ]


def _spent_exactly_once(name):
    "Every one of the 14 grid points scored or pruned exactly once; skipped trials were never evaluated."
    trials = _trials(PG, name, (COMPLETE, PRUNED, FAIL))
    spent = [t for t in trials if t.state != FAIL and "skipped" not in t.user_attrs]
    points = [(t.params["order"], t.params["trend"]) for t in spent]
    assert len(points) == len(set(points)) == 14, sorted(points)
    assert all(not t.params and not t.intermediate_values for t in trials if "skipped" in t.user_attrs)
    return trials


def test_two_workers_share_one_postgresql_study(tmp_path):
    name = f"grid-{uuid.uuid4().hex[:8]}"
    cmd = _grid_cmd(name, "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db")
    try:
        optuna.create_study(study_name=name, storage=PG)  # created once, before the workers race
        from forecast_nb.tracking import experiment_id

        experiment_id(
            "forecast-nb-tuning", f"sqlite:///{tmp_path}/mlflow.db"
        )  # the tracking store exists too (a server would)
        workers = [
            subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
        ]
        outs = [w.communicate(timeout=400) for w in workers]
        assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outs]
        done = _spent_exactly_once(name)
        assert not [t for t in done if t.state == FAIL]
        assert len({t.user_attrs["worker"] for t in done if "worker" in t.user_attrs}) == 2  # both workers took part
        import json
        import mlflow

        run_ids = [json.loads(o[0].strip().splitlines()[-1])["mlflow_run_id"] for o in outs]
        client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
        nested = sum(
            len(
                client.search_runs(
                    [client.get_run(r).info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{r}'"
                )
            )
            for r in run_ids
        )
        assert nested == len(done)  # every trial logged once, under its worker's tuning run
    finally:
        try:
            optuna.delete_study(study_name=name, storage=PG)
        except KeyError:
            pass


def test_killed_worker_trial_is_failed_by_heartbeat_and_retried():
    name = f"grid-kill-{uuid.uuid4().hex[:8]}"
    cmd = _grid_cmd(name, "--no-tracking")
    try:
        optuna.create_study(study_name=name, storage=PG)
        victim, survivor = [
            subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
        ]

        def mine(t):
            return t.user_attrs.get("worker", "").endswith(f":{victim.pid}")

        deadline, killed = time.time() + 240, None
        while killed is None and time.time() < deadline and victim.poll() is None:
            if len(_trials(PG, name, (COMPLETE, PRUNED))) >= 2:
                victim.send_signal(signal.SIGSTOP)  # frozen: what it is running now is what the kill interrupts
                running = [t for t in _trials(PG, name, (RUNNING,)) if mine(t)]
                if running:
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed = running[0].number
                else:
                    victim.send_signal(signal.SIGCONT)
            time.sleep(0.2)
        assert killed is not None, "the victim never ran a trial that could be killed"
        out, err = survivor.communicate(timeout=400)
        assert survivor.returncode == 0, err[-2000:]
        trials = _spent_exactly_once(name)
        lost = [t for t in trials if t.number == killed][0]
        assert lost.state == FAIL and "fail_reason" not in lost.user_attrs  # failed by the heartbeat, not by the model
        retry = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
        assert (
            len(retry) == 1
            and retry[0].state in (COMPLETE, PRUNED)
            and retry[0].system_attrs["grid_id"] == lost.system_attrs["grid_id"]
        )  # the same grid point
        assert retry[0].user_attrs["worker"].endswith(f":{survivor.pid}")
    finally:
        for p in (victim, survivor):
            if p.poll() is None:
                p.kill()
        try:
            optuna.delete_study(study_name=name, storage=PG)
        except KeyError:
            pass


@pytest.mark.parametrize(
    "kw, phrase",
    [
        (dict(model="xgboost"), "unknown model 'xgboost'"),
        (dict(method="anneal"), "method='anneal'"),
        (dict(n_trials=0), "n_trials=0"),
        (dict(metric="r3"), "metric='r3'"),
        (dict(method="grid", space={"dropout": {"low": 0.0, "high": 0.5}}), "no grid values or choices"),
    ],
)
def test_bad_tuning_requests(tmp_path, kw, phrase):
    args = dict(model="arima", data=load("sample:CO2"), n_trials=2, storage=f"sqlite:///{tmp_path}/o.db") | kw
    with pytest.raises(E.ConfigError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        tune(**args)


def test_a_trial_orphaned_before_its_first_heartbeat_is_failed_and_retried(tmp_path):
    """A worker killed between creating a trial and starting its heartbeat leaves a trial no heartbeat check finds:
    it is failed and queued again."""
    from forecast_nb.studies import fail_orphans, open_storage

    store = open_storage(f"sqlite:///{tmp_path}/o.db", heartbeat=1)
    study = optuna.create_study(storage=store, study_name="orphan")
    study.ask({"a": optuna.distributions.FloatDistribution(0, 1)})  # RUNNING, never a heartbeat, never an objective
    fail_orphans(study, store)
    assert [t.state for t in study.get_trials()] == [RUNNING]  # within the grace period: left alone
    time.sleep(3.5)
    fail_orphans(study, store)
    assert [(t.state, t.system_attrs.get("failed_trial")) for t in study.get_trials()] == [
        (FAIL, None),
        (optuna.trial.TrialState.WAITING, 0),
    ]
