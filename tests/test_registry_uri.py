"""Two registries with a model of the same name: every MLflow call goes through the URI it was given,
never the process-wide one (monitoring's model metadata, the champion re-scored by `deploy_decision`,
promote through the CLI)."""

import os
import subprocess
import sys
from pathlib import Path
import pytest

NAME = "same-name"


@pytest.fixture(scope="module")
def two_registries(tmp_path_factory, runs_env):
    """Folders a and b, each with ./mlflow.db holding `same-name` v1 in production:
    naive with horizon 3 in a, drift with horizon 6 in b."""
    from forecast_nb.pipeline import run_training

    root = tmp_path_factory.mktemp("registries")
    out = {}
    for key, model, h in (("a", "naive", 3), ("b", "drift", 6)):
        (root / key).mkdir()
        uri = f"sqlite:///{root / key / 'mlflow.db'}"
        res = run_training(
            data="sample:CO2",
            val_size=24,
            test_size=24,
            horizon=h,
            model=model,
            tracking_uri=uri,
            model_name=NAME,
            features={"lags": [0]},
            gate="none",
        )
        assert (res.logged.version, res.logged.promoted) == ("1", True)
        out[key] = dict(folder=root / key, uri=uri, run_id=res.run_id, model=res.final.model, horizon=h)
    return out


@pytest.fixture
def in_folder(monkeypatch):
    "Work from a folder, with no $MLFLOW_TRACKING_URI and no process-wide tracking URI set."
    import mlflow

    def go(folder):
        monkeypatch.chdir(folder)
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        mlflow.set_tracking_uri(None)
        os.environ.pop("MLFLOW_TRACKING_URI", None)

    return go


def test_monitoring_reads_the_named_registrys_model_from_a_folder_holding_another(two_registries, in_folder):
    from forecast_nb.registry import alias_version, version_metadata

    a, b = two_registries["a"], two_registries["b"]
    in_folder(b["folder"])  # ./mlflow.db is b's registry
    version = alias_version(NAME, "production", a["uri"])
    run_id, meta = version_metadata(NAME, version, a["uri"])
    assert (version, run_id, meta["horizon"], meta["config"]["model"]) == ("1", a["run_id"], 3, "naive")


def test_the_champion_is_rescored_from_the_named_registry(two_registries, in_folder):
    from forecast_nb.data import load
    from forecast_nb.backtest import deploy_decision, score_fitted
    from forecast_nb.registry import load_version

    a, b = two_registries["a"], two_registries["b"]
    in_folder(b["folder"])
    y = load("sample:CO2")["co2"]
    assert load_version(NAME, 1, a["uri"]).unwrap_python_model().model.name == "naive"
    d = deploy_decision(NAME, 0.0, y, len(y) - 24, 3, a["uri"])
    assert d["champion_mae"] == pytest.approx(score_fitted(a["model"], y, len(y) - 24, 3)[0])
    assert d["champion_mae"] != pytest.approx(score_fitted(b["model"], y, len(y) - 24, 3)[0])


def test_promote_and_rollback_from_the_cli_change_the_named_registry_only(two_registries, tmp_path):
    import mlflow

    a, b = two_registries["a"], two_registries["b"]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"PYTHONWARNINGS": "ignore"}

    def cli(*args):
        return subprocess.run(
            [str(Path(sys.executable).parent / "forecast-nb"), *args],
            cwd=b["folder"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = cli("rollback", NAME, "--tracking-uri", a["uri"])
    assert r.returncode == 2 and "no 'previous' version" in r.stderr
    r = cli("promote", NAME, "1", "--tracking-uri", a["uri"])
    assert r.returncode == 0, r.stderr
    assert mlflow.MlflowClient(b["uri"]).get_model_version_by_alias(NAME, "production").version in ("1", 1)
