"""Request bodies on a real uvicorn server (both of its HTTP parsers), through raw sockets: a body over the limit is a
413 before it is read (declared or chunked), a body that stalls is a 408, and bodies within the limit are served."""

import json
import select
import socket
import threading
import time
import uuid
import pytest

TOKEN = "test-token-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def store(runs_env, ar1_series):
    "A registry with `demo` v1 (naive) in production."
    from forecast_nb.pipeline import run_training

    ar1_series(120).to_csv(runs_env / "series.csv")
    uri = f"sqlite:///{runs_env}/mlflow.db"
    res = run_training(
        data=str(runs_env / "series.csv"),
        calendar=None,
        horizon=3,
        model="naive",
        tracking_uri=uri,
        model_name="demo",
        gate=None,
    )
    assert res.logged.promoted
    return uri


@pytest.fixture(scope="module", params=["httptools", "h11"])
def port(request, store):
    "The API (default body limit, a 1 s body timeout) on uvicorn in a thread, on 127.0.0.1."
    import uvicorn
    from forecast_nb.serve import create_app

    app = create_app("demo", tracking_uri=store, log_url=None, token=TOKEN, poll_seconds=0, body_timeout=1.0)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=request.param, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 60
        while not server.started and thread.is_alive() and time.time() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(30)


def head(length: int | None = None, path: str = "/forecast") -> bytes:
    "A POST's request line and headers: Content-Length `length`, or chunked when None."
    size = b"Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}".encode()
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {TOKEN}",
        "Content-Type: application/json",
    ]
    return "\r\n".join(lines).encode() + b"\r\n" + size + b"\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def exchange(port: int, first: bytes, pieces=(), timeout: float = 10.0):
    "Send `first`, then `pieces` one by one until the server answers; (status or None, seconds to answer, body)."
    t, data = time.monotonic(), b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(first)
        for piece in pieces:
            if select.select([s], [], [], 0.01)[0]:
                break  # answered already: stop sending
            try:
                s.sendall(piece)
            except OSError:
                break
        try:
            while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + _length(data):
                got = s.recv(65536)
                if not got:
                    break
                data += got
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None
    return status, time.monotonic() - t, data.partition(b"\r\n\r\n")[2]


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_a_declared_length_over_the_limit_is_413_before_the_body(port):
    status, took, body = exchange(port, head(2_000_000))  # the body is never sent
    assert status == 413 and took < 2, (status, took)
    assert "larger than 1048576 bytes" in json.loads(body)["detail"]


def test_a_chunked_body_over_the_limit_is_413_while_it_streams(port):
    piece = chunk(b" " * 65536)
    status, took, _ = exchange(port, head(None), [chunk(b'{"horizon": 3')] + [piece] * 40 + [b"0\r\n\r\n"])  # 2.6 MB
    assert status == 413 and took < 5, (status, took)


def test_a_body_that_stalls_is_408_after_the_body_timeout(port):
    for first, rest in ((head(100), [b'{"horizon": 3']), (head(None), [chunk(b'{"horizon": 3')])):  # declared; chunked
        status, took, _ = exchange(port, first, rest)
        assert status == 408 and 0.9 < took < 3, (status, took)


def test_bodies_within_the_limit_are_served(port):
    padded = b'{"horizon": 3}' + b" " * 1_000_000  # just under 1 MiB, declared
    status, _, body = exchange(port, head(len(padded)), [padded])
    assert status == 200 and len(json.loads(body)["yhat"]) == 3
    status, _, body = exchange(port, head(None), [chunk(b'{"horizon": '), chunk(b"2}"), b"0\r\n\r\n"])  # chunked
    assert status == 200 and len(json.loads(body)["yhat"]) == 2
    status, _, body = exchange(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 200 and json.loads(body)["model_loaded"]


def test_the_cli_sets_the_body_limit(store, tmp_path):
    import os
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")} | {
        "FORECAST_NB_TOKEN": TOKEN,
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "forecast-nb"),
            "serve",
            "--name",
            "demo",
            "--tracking-uri",
            store,
            "--port",
            str(free),
            "--log-url",
            "none",
            "--max-body-bytes",
            "1000",
            "--body-timeout",
            "2",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{free}/health", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None
                time.sleep(0.3)
        body = json.dumps({"horizon": 3, "level": [80.0] * 300}).encode()  # over 1,000 bytes
        status, _, _ = exchange(free, head(len(body)) + body)
        assert status == 413
        status, _, _ = exchange(free, head(len(b'{"horizon": 3}')) + b'{"horizon": 3}')
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(30)
