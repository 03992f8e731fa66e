"""Every source kind, for real: files, SQLite, the PostgreSQL server at 127.0.0.1:5432, and yfinance offline."""

import uuid
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from forecast_nb import errors as E
from forecast_nb.data import load, read_source

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _same(a, b):
    np.testing.assert_allclose(a["close"].to_numpy(), b["close"].to_numpy())
    assert (a.index == b.index).all()


@pytest.fixture(scope="module")
def aapl():
    return load("sample:AAPL")


@pytest.mark.parametrize("name", ["p.csv", "p.csv.gz", "p.parquet"])
def test_files_round_trip(aapl, tmp_path, name):
    path = tmp_path / name
    frame = aapl.reset_index()
    frame.to_parquet(path) if name.endswith("parquet") else frame.to_csv(path, index=False)
    df = load(path)
    _same(df, aapl)
    assert df.attrs["calendar"] == "NYSE"


def test_csv_options_date_col_target_and_tz(tmp_path):
    frame = pd.DataFrame(
        {
            "Day": pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S%z"),
            "Load MW": np.sin(np.arange(48)) + 10,
            "temp": np.arange(48.0),
        }
    )
    frame.to_csv(tmp_path / "load.csv", index=False)
    df = load(tmp_path / "load.csv", date_col="Day", target="Load MW", tz="Europe/Berlin")
    assert df.attrs["target"] == "load_mw" and df.attrs["freq"] == "h"
    assert str(df.index.tz) == "Europe/Berlin" and df.index[0].hour == 1


def test_sqlite_table_and_query(aapl, tmp_path):
    url = f"sqlite:///{tmp_path}/prices.db"
    eng = sa.create_engine(url)
    aapl.reset_index().to_sql("prices", eng, index=False)
    eng.dispose()
    _same(load(url, table="prices"), aapl)
    part = load(url, query="select date, close from prices where date >= '2012-01-01'")
    _same(part, aapl.loc["2012-01-01":])


@pytest.fixture
def pg_table(aapl):
    eng = sa.create_engine(PG_URL)
    try:
        with eng.connect():
            pass
    except sa.exc.OperationalError as e:
        pytest.fail(f"PostgreSQL must run at 127.0.0.1:5432 for this test: {e}")
    table = f"prices_{uuid.uuid4().hex[:8]}"
    aapl.reset_index().to_sql(table, eng, index=False)
    yield table
    with eng.begin() as con:
        con.execute(sa.text(f'drop table if exists "{table}"'))
    eng.dispose()


def test_postgresql_table_and_query(aapl, pg_table):
    _same(load(PG_URL, table=pg_table), aapl)
    df = load(PG_URL, query=f"select date, close from \"{pg_table}\" where date < '2001-01-01' order by date desc")
    _same(df, aapl.loc[:"2000-12-31"])  # given newest first: sorted on the way in
    with pytest.raises(E.SourceNotFoundError, match="table 'no_such_table' not found"):
        load(PG_URL, table="no_such_table")


def test_unreachable_database_is_unavailable():
    with pytest.raises(E.SourceUnavailableError, match="cannot connect to postgresql"):
        load("postgresql+psycopg://postgres@127.0.0.1:1/test", table="prices")


def test_yfinance_offline_is_a_clear_error():
    "The real yfinance code path, on a machine without internet: a clear error, not an empty frame."
    with pytest.raises(E.SourceUnavailableError, match="AAPL") as info:
        load("yfinance:AAPL", start="2020-01-01", end="2020-03-01", timeout=5)
    assert "network" in str(info.value)


def test_yfinance_download_is_parsed(monkeypatch, aapl):
    "The network is mocked (impossible here); the parsing of yfinance's frame shape is real."
    import yfinance as yf

    part = aapl.loc["2012-01-01":"2012-06-30", ["open", "high", "low", "close", "volume"]]
    frame = part.rename(columns=str.title).rename_axis("Date")
    frame.columns = pd.MultiIndex.from_product([frame.columns, ["AAPL"]], names=["Price", "Ticker"])
    calls = {}

    def fake_download(ticker, **kw):
        calls.update(kw, ticker=ticker)
        return frame

    monkeypatch.setattr(yf, "download", fake_download)
    df = load("yfinance:AAPL", start="2012-01-01")
    assert calls["ticker"] == "AAPL" and calls["auto_adjust"] is True and calls["start"] == "2012-01-01"
    _same(df, part)
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]


def test_dataframe_and_series_sources(aapl):
    _same(load(aapl), aapl)
    s = load(aapl["close"])
    assert list(s.columns) == ["close"]
    assert read_source(aapl) is not aapl  # never mutates the caller's frame


def test_a_password_in_the_source_is_never_recorded(aapl, pg_table):
    "Issue 14, item 4: attrs['source'] and summarize(df) go to MLflow and artifacts; trust auth accepts any password."
    from forecast_nb.data import summarize

    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:5432/test"
    df = load(url, table=pg_table)
    _same(df, aapl)
    assert df.attrs["source"] == "postgresql+psycopg://postgres:***@127.0.0.1:5432/test"
    s = summarize(df)
    assert "hunter2" not in repr(s) + str(s.name) + repr(df.attrs)
    with pytest.raises(E.SourceNotFoundError) as info:
        load(url, table="no_such_table")
    assert "hunter2" not in str(info.value) + repr(info.value.context)


def test_sql_options_on_a_file_are_refused(aapl, tmp_path):
    path = tmp_path / "p.csv"
    aapl.reset_index().to_csv(path, index=False)
    with pytest.raises(E.ConfigError, match="query='select 1' is given, but the source .*p.csv' is not a SQL database"):
        load(path, query="select 1")
    with pytest.raises(E.ConfigError, match="table='prices' is given"):
        load(str(path), table="prices")
