"""The bad-input matrix: each bad input raises its own exception with a message naming where and what to do."""

import logging
import numpy as np
import pandas as pd
import pytest
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.validate import check_positive


def _set(df, i, col, value):
    df = df.copy()
    df[col] = df[col].astype(object) if not isinstance(value, float) else df[col]
    df.loc[i, col] = value
    return df


CASES = {
    "missing file": (lambda f, tmp: load(tmp / "nope.csv"), E.SourceNotFoundError, "nope.csv' does not exist"),
    "unknown sample": (lambda f, tmp: load("sample:ZZZ"), E.SourceNotFoundError, "no bundled sample named 'ZZZ'"),
    "missing table": (
        lambda f, tmp: load(_sqlite(f, tmp), table="quotes"),
        E.SourceNotFoundError,
        "table 'quotes' not found",
    ),
    "bad query": (
        lambda f, tmp: load(_sqlite(f, tmp), query="select nope from prices"),
        E.DataSourceError,
        "query failed",
    ),
    "unreadable file": (
        lambda f, tmp: load(_write(tmp / "x.parquet", b"not parquet")),
        E.DataSourceError,
        "could not read",
    ),
    "unknown suffix": (lambda f, tmp: load(_write(tmp / "x.xlsx", b"")), E.DataSourceError, "don't know how to read"),
    "no date column": (
        lambda f, tmp: load(f.rename(columns={"date": "day"})),
        E.DateColumnError,
        "no date column found among ['day', 'close', 'volume']",
    ),
    "named date column absent": (
        lambda f, tmp: load(f, date_col="when"),
        E.DateColumnError,
        "date column 'when' not found",
    ),
    "unparsable dates": (
        lambda f, tmp: load(_set(f, 7, "date", "31/31/2024")),
        E.DateColumnError,
        "first at row(s) [7]: ['31/31/2024']",
    ),
    "duplicate timestamps": (
        lambda f, tmp: load(pd.concat([f, f.iloc[[3, 4]]])),
        E.DuplicateTimestampError,
        "2 timestamp(s) appear more than once, e.g. 2024-01-04, 2024-01-05",
    ),
    "gaps": (
        lambda f, tmp: load(f.drop(index=[20, 21, 40])),
        E.GapError,
        "3 timestamp(s) missing against freq B, first at 2024-01-29",
    ),
    "off-grid timestamp": (lambda f, tmp: load(f, freq="W-MON"), E.FrequencyError, "fall off the W-MON grid"),
    "nan in target": (
        lambda f, tmp: load(_set(f, 9, "close", np.nan)),
        E.MissingValueError,
        "1 NaN value(s), first at 2024-01-12",
    ),
    "leading nan with fill": (
        lambda f, tmp: load(_set(f, 0, "close", np.nan), fill="ffill"),
        E.MissingValueError,
        "starts with NaN",
    ),
    "inf in target": (
        lambda f, tmp: load(_set(f, 11, "close", np.inf), fill="ffill"),
        E.MissingValueError,
        "1 infinite value(s), first at 2024-01-16",
    ),
    "non-numeric target": (
        lambda f, tmp: load(_set(f, 5, "close", "12,5")),
        E.NonNumericTargetError,
        "1 non-numeric value(s), first at 2024-01-08: ['12,5']",
    ),
    "boolean target": (lambda f, tmp: load(f.assign(close=f.index % 2 == 0)), E.NonNumericTargetError, "non-numeric"),
    "target absent": (lambda f, tmp: load(f, target="price"), E.TargetColumnError, "target column 'price' not found"),
    "ambiguous target": (
        lambda f, tmp: load(f.rename(columns={"close": "a"})),
        E.TargetColumnError,
        "2 numeric columns and none is named 'close'",
    ),
    "non-positive price": (
        lambda f, tmp: load(f.assign(open=1.0, high=30.0, low=-1.0, close=f.close - 11)),
        E.NonPositiveValueError,
        "6 value(s) <= 0, first at 2024-01-01",
    ),
    "non-positive when required": (
        lambda f, tmp: load(f.assign(close=f.close - 15), positive=True),
        E.NonPositiveValueError,
        "value(s) <= 0",
    ),
    "constant series": (
        lambda f, tmp: load(f.assign(close=3.0)),
        E.ConstantSeriesError,
        "is constant (3.0) over all 60 rows",
    ),
    "too short": (lambda f, tmp: load(f.iloc[:2]), E.SeriesTooShortError, "2 row(s) loaded, need at least 3"),
    "too short for min_rows": (lambda f, tmp: load(f, min_rows=100), E.SeriesTooShortError, "need at least 100"),
    "bad fill policy": (lambda f, tmp: load(f, fill="bfill"), E.ConfigError, "fill='bfill'"),
    "bad freq": (
        lambda f, tmp: load(f, freq="fortnightly"),
        E.ConfigError,
        "freq='fortnightly' is not a pandas frequency",
    ),
    "bad calendar": (lambda f, tmp: load(f, calendar="MOON"), E.ConfigError, "calendar='MOON'"),
    "sql without table": (lambda f, tmp: load(f"sqlite:///{tmp}/x.db"), E.ConfigError, "needs a table or a query"),
    "unsupported source type": (lambda f, tmp: load(42), E.ConfigError, "source of type int"),
    "query on a CSV file": (
        lambda f, tmp: load(_csv(f, tmp), query="select * from prices"),
        E.ConfigError,
        "query='select * from prices' is given, but the source",
    ),
    "query on a sample": (
        lambda f, tmp: load("sample:AAPL", query="select 1"),
        E.ConfigError,
        "query='select 1' is given, but the source 'sample:AAPL' is not a SQL database",
    ),
    "table on yfinance": (
        lambda f, tmp: load("yfinance:AAPL", table="prices"),
        E.ConfigError,
        "table='prices' is given, but the source 'yfinance:AAPL' is not a SQL database",
    ),
    "table on a DataFrame": (lambda f, tmp: load(f, table="prices"), E.ConfigError, "the source a DataFrame is not"),
    "missing sqlite file": (
        lambda f, tmp: load(f"sqlite:///{tmp}/missing.db", table="prices"),
        E.SourceNotFoundError,
        "missing.db' does not exist",
    ),
    "table and query": (
        lambda f, tmp: load(_sqlite(f, tmp), table="prices", query="select 1"),
        E.ConfigError,
        "both table='prices' and a query",
    ),
    "naive and zoned dates mixed": (
        lambda f, tmp: load(_zoned_at(f, 4, "2024-01-05Z")),
        E.DateColumnError,
        "date column 'date' mixes 59 date(s) without a time zone"
        " (row 0: '2024-01-01', row 1: '2024-01-02') and 1 with a UTC offset"
        " (row 4: '2024-01-05Z')",
    ),
    "changing UTC offsets": (
        lambda f, tmp: load(_fixed_offsets("D")),
        E.FrequencyError,
        "change their UTC offset from +01:00 to +02:00 at row 7 ('2024-03-31T00:00:00+0100', then "
        "'2024-04-01T00:00:00+0200'), so in UTC they are not evenly spaced",
    ),
}


def _zoned_at(frame, row, date):
    "`frame` with its dates as text, the one at `row` replaced by `date` (written with a UTC offset)."
    return _set(frame.assign(date=frame.date.astype(str)), row, "date", date)


def _fixed_offsets(freq, periods=20):
    "Berlin wall-clock dates across the March 2024 daylight-saving change, written with fixed UTC offsets."
    idx = pd.date_range("2024-03-25", periods=periods, freq=freq, tz="Europe/Berlin")
    return pd.DataFrame({"date": idx.strftime("%Y-%m-%dT%H:%M:%S%z"), "y": np.sin(np.arange(periods))})


def _csv(frame, tmp):
    frame.to_csv(tmp / "p.csv", index=False)
    return tmp / "p.csv"


def _write(path, data):
    path.write_bytes(data)
    return path


def _sqlite(frame, tmp):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp}/prices.db"
    eng = sa.create_engine(url)
    frame.to_sql("prices", eng, index=False, if_exists="replace")
    eng.dispose()
    return url


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, bdays_frame, tmp_path):
    call, exc, phrase = CASES[case]
    with pytest.raises(exc) as info:
        call(bdays_frame, tmp_path)
    assert phrase in str(info.value), str(info.value)
    assert isinstance(info.value, E.ForecastNBError)
    assert " -> " in str(info.value), "every message says what to do"


def test_every_data_error_class_is_exercised():
    raised = {exc for _, exc, _ in CASES.values()}
    data_errors = {c for c in vars(E).values() if isinstance(c, type) and issubclass(c, E.ForecastDataError)}
    assert data_errors - {E.ForecastDataError, E.SourceUnavailableError} <= raised  # unavailable: see test_sources


def test_unsorted_input_is_sorted_with_a_logged_warning(bdays_frame, caplog):
    with caplog.at_level(logging.WARNING, logger="forecast_nb.data"):
        df = load(bdays_frame.iloc[::-1])
    assert "not in time order: sorted 60 rows" in caplog.text
    np.testing.assert_array_equal(df["close"].to_numpy(), bdays_frame["close"].to_numpy())


@pytest.mark.parametrize("fill", ["ffill", "interpolate"])
def test_gaps_and_nan_filled_on_request(bdays_frame, fill, caplog):
    holed = _set(bdays_frame.drop(index=[20, 21]), 30, "close", np.nan)
    with caplog.at_level(logging.INFO, logger="forecast_nb.data"):
        df = load(holed, fill=fill)
    assert len(df) == 60 and df["close"].notna().all() and df.attrs["gaps"] == 2
    assert "filled 2 missing timestamp(s) and 1 NaN target value(s)" in caplog.text
    expect = bdays_frame["close"].to_numpy().copy()
    if fill == "ffill":
        expect[[20, 21]] = expect[19]
        expect[30] = expect[29]
    np.testing.assert_allclose(df["close"].to_numpy(), expect)


@pytest.mark.parametrize("source", ["sample:AAPL", "sample:GOOG", "sample:IBM", "sample:MSFT", "sample:CO2"])
def test_valid_data_is_not_altered(source):
    from forecast_nb.data import read_source

    raw = read_source(source)
    df = load(raw)
    np.testing.assert_array_equal(df.to_numpy(), raw.drop(columns="date").to_numpy())
    assert (df.index == pd.to_datetime(raw["date"])).all()
    assert df.index.freq is not None and df.attrs["gaps"] == 0


def test_errors_carry_context(bdays_frame):
    with pytest.raises(E.GapError) as info:
        load(bdays_frame.drop(index=[20]))
    assert info.value.context["column"] == "close"
    assert info.value.context["rows"] == [pd.Timestamp("2024-01-29")]
    assert info.value.hint.startswith("pass fill=")


def test_check_positive_names_the_reason():
    y = pd.Series([1.0, 0.0, 2.0], index=pd.date_range("2024-01-01", periods=3), name="sales")
    with pytest.raises(
        E.NonPositiveValueError, match="column 'sales' has 1 value\\(s\\) <= 0, first at 2024-01-02 .* log transform"
    ):
        check_positive(y, "a log transform")


def test_changing_offsets_are_read_on_the_zone_given_or_kept_when_even_in_utc():
    "Issue 14, item 12: tz= reads fixed-offset dates on their own clock; hourly ones are evenly spaced in UTC anyway."
    daily = load(_fixed_offsets("D"), tz="Europe/Berlin")
    assert daily.attrs["freq"] == "D" and str(daily.index.tz) == "Europe/Berlin" and (daily.index.hour == 0).all()
    hourly = load(_fixed_offsets("h", 72))
    assert hourly.attrs["freq"] == "h" and str(hourly.index.tz) == "UTC" and len(hourly) == 72


def test_zoned_timestamps_mixed_with_naive_ones_are_refused(bdays_frame):
    dates = list(bdays_frame["date"])
    dates[2] = dates[2].tz_localize("America/New_York")
    phrase = r"mixes 59 date\(s\) without a time zone .* and 1 with a UTC offset \(row 2: '2024-01-03 00:00:00-05:00'\)"
    with pytest.raises(E.DateColumnError, match=phrase) as info:
        load(bdays_frame.assign(date=pd.Series(dates, dtype=object)))
    assert info.value.context["column"] == "date" and info.value.context["rows"][:3] == [0, 1, 3]


@pytest.mark.parametrize("kw", [{"query": "select * from prices"}, {"table": "prices"}])
def test_sql_options_are_refused_before_reading_anything(kw, monkeypatch):
    "Issue 14, item 15: --query on a non-SQL source was silently ignored; now refused, naming the parameter."
    import yfinance as yf

    monkeypatch.setattr(yf, "download", lambda *a, **k: pytest.fail("downloaded although the options are refused"))
    with pytest.raises(E.ConfigError) as info:
        load("yfinance:AAPL", **kw)
    assert info.value.context["parameter"] == next(iter(kw))


def test_a_missing_sqlite_file_is_not_created(tmp_path, monkeypatch):
    "Issue 14, item 15: connecting to sqlite:///missing.db created an empty file; relative paths are from the cwd."
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///missing.db", f"sqlite:///{tmp_path}/sub/missing.db", "sqlite+pysqlite:///missing.db"):
        with pytest.raises(E.SourceNotFoundError, match="missing.db' does not exist") as info:
            load(url, query="select * from prices")
        assert info.value.context["source"] == url
    assert list(tmp_path.iterdir()) == []
