"""No password is recorded or printed: a PostgreSQL data source and a tracking server, both with a password in their
URL, through `forecast-nb run` and `forecast-nb train` (papermill); every param, tag, run name, artifact, registered
version and the output are searched."""

import subprocess
import sys
import uuid
from pathlib import Path
import pytest
from test_mlflow_server import ENV, free_port, wait_http

PW = f"pw{uuid.uuid4().hex[:12]}"  # trust auth: PostgreSQL accepts any password, so the URLs really work
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def table():
    import sqlalchemy as sa
    from conftest import ar1

    name = f"fnb_secret_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ar1(300).reset_index().to_sql(name, engine, index=False)
    try:
        yield name
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    "A real tracking server on 127.0.0.1 (SQLite backend); clients reach it through a URL holding a user and password."
    root, port = tmp_path_factory.mktemp("secret-server"), free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root}/server.db",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=ENV,
        stdout=open(root / "server.log", "w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def _everything_recorded(uri: str, dst: Path) -> str:
    "Every param, tag, run name, artifact file and registered version's text in the store, as one string."
    from mlflow import MlflowClient
    from forecast_nb.registry import load_version

    c, text = MlflowClient(uri), []
    for exp in c.search_experiments():
        for run in c.search_runs([exp.experiment_id], max_results=1000):
            text += [run.info.run_name or "", *map(str, run.data.params.items()), *map(str, run.data.tags.items())]
            folder = dst / run.info.run_id
            c.download_artifacts(run.info.run_id, "", str(folder))
            text += [p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()]
    for rm in c.search_registered_models():
        for mv in c.search_model_versions(f"name = '{rm.name}'"):
            text += [mv.description or "", mv.source, *map(str, mv.tags.items())]
            text.append(str(load_version(rm.name, mv.version, uri).metadata.to_dict()))
    return "\n".join(text)


def test_no_password_is_recorded_or_printed(server, table, tmp_path):
    host = server.removeprefix("http://")
    data, uri = f"postgresql://postgres:{PW}@127.0.0.1:5432/test", f"http://fnb:{PW}@{host}"
    env = ENV | {"FORECAST_NB_RUNS": str(tmp_path / "runs")}
    common = [
        "--data",
        data,
        "--table",
        table,
        "--model",
        "naive",
        "--horizon",
        "5",
        "--tracking-uri",
        uri,
        "--model-name",
        "secret-model",
    ]
    run = subprocess.run(
        [str(BIN / "forecast-nb"), "run", *common], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "postgres:***@127.0.0.1" in run.stdout and f"fnb:***@{host}" in run.stdout
    train = subprocess.run(
        [
            str(BIN / "forecast-nb"),
            "train",
            "-p",
            f"data={data}",
            "-p",
            f"table={table}",
            "-p",
            "model=drift",
            "-p",
            "horizon=5",
            "-p",
            f"tracking_uri={uri}",
            "-p",
            "model_name=secret-model",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    recorded = _everything_recorded(server, tmp_path / "dl")
    assert (
        "postgres:***@127.0.0.1" in recorded and "notebook" in recorded
    )  # the runs, their notebook, the masked source are there
    for where, text in (
        ("run output", run.stdout + run.stderr),
        ("train output", train.stdout + train.stderr),
        ("MLflow", recorded),
    ):
        assert PW not in text, f"the password appears in the {where}"
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file() and p.suffix in (".ipynb", ".json")]
    assert files and not [p for p in files if PW in p.read_text(errors="replace")]
