"""Property tests for the chronological split and the walk-forward window generator."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from forecast_nb import errors as E
from forecast_nb.split import chrono_split, walk_forward_windows, check_horizon, full_windows

params = st.fixed_dictionaries(
    {
        "initial": st.integers(1, 60),
        "horizon": st.integers(1, 15),
        "step": st.none() | st.integers(1, 20),
        "gap": st.integers(0, 5),
        "window": st.sampled_from(["expanding", "sliding"]),
        "partial": st.booleans(),
        "extra": st.integers(0, 150),
        "train_cut": st.integers(0, 59),
    }
)


@settings(max_examples=300, deadline=None)
@given(params)
def test_windows_never_leak_and_cover_the_span(p):
    n = p["initial"] + p["gap"] + p["horizon"] + p["extra"]
    train_size = max(1, p["initial"] - p["train_cut"]) if p["window"] == "sliding" else None
    ws = list(
        walk_forward_windows(
            n,
            p["initial"],
            p["horizon"],
            step=p["step"],
            window=p["window"],
            train_size=train_size,
            gap=p["gap"],
            partial=p["partial"],
        )
    )
    step = p["step"] or p["horizon"]
    assert ws, "at least one window when the series is long enough"
    for i, w in enumerate(ws):
        assert len(w.train) > 0 and len(w.test) > 0
        assert w.train.stop + p["gap"] == w.test.start  # test starts after train and the gap
        assert max(w.train) < min(w.test)  # no test index precedes or overlaps train
        assert w.test.stop <= n and len(w.test) <= p["horizon"]
        assert w.train.stop == p["initial"] + i * step  # origins move by `step`
        if p["window"] == "sliding":
            assert len(w.train) == train_size
        else:
            assert w.train.start == 0
        if not p["partial"]:
            assert len(w.test) == p["horizon"]
    covered = set().union(*(set(w.test) for w in ws))
    start = p["initial"] + p["gap"]
    if step <= p["horizon"] and p["partial"]:
        assert covered == set(range(start, n))  # no holes, nothing past the end
    elif step <= p["horizon"]:
        assert covered == set(range(start, ws[-1].test.stop)) and n - ws[-1].test.stop < step
    else:
        assert all(b.test.start - a.test.start == step for a, b in zip(ws, ws[1:]))


def test_windows_too_short_says_minimum():
    with pytest.raises(E.SeriesTooShortError, match="need at least 16"):
        walk_forward_windows(15, initial=10, horizon=5, gap=1, partial=False)


@pytest.mark.parametrize(
    "kw, phrase",
    [
        ({"window": "rolling"}, "window='rolling'"),
        ({"step": 0}, "step=0"),
        ({"initial": 0}, "initial=0"),
        ({"window": "sliding", "train_size": 50}, "train_size=50 is larger than initial=20"),
        ({"gap": -1}, "gap=-1"),
    ],
)
def test_window_config_errors(kw, phrase):
    args = {"n": 100, "initial": 20, "horizon": 5} | kw
    with pytest.raises(E.ConfigError, match=phrase.replace("(", r"\(").replace("[", r"\[")):
        walk_forward_windows(**args)


frames = st.integers(30, 400).map(
    lambda n: pd.DataFrame({"y": np.arange(n, dtype=float)}, index=pd.bdate_range("2020-01-01", periods=n))
)
sizes = st.one_of(st.none(), st.floats(0.05, 0.3), st.integers(1, 20))


@settings(max_examples=200, deadline=None)
@given(frames, sizes, sizes, st.integers(0, 3))
def test_split_is_ordered_disjoint_and_complete(df, val, test, gap):
    def size(v):
        return 0 if v is None else int(round(v * len(df))) if isinstance(v, float) else v

    needed = size(val) + size(test) + gap * ((size(val) > 0) + (size(test) > 0)) + 1
    try:
        sp = chrono_split(df, val=val, test=test, gap=gap)
    except E.SeriesTooShortError as e:
        assert needed > len(df) and f"need at least {needed} rows" in str(e)
        return
    assert needed <= len(df)
    parts = [p for p in (sp.train, sp.val, sp.test) if len(p)]
    for a, b in zip(parts, parts[1:]):
        assert a.index[-1] < b.index[0]
        assert df.index.get_loc(b.index[0]) - df.index.get_loc(a.index[-1]) == gap + 1
    assert sum(len(p) for p in parts) + gap * (len(parts) - 1) == len(df)
    assert sp.train.index[0] == df.index[0] and parts[-1].index[-1] == df.index[-1]
    assert all(p.index.is_monotonic_increasing for p in parts)


def test_split_by_date_and_errors():
    df = pd.DataFrame({"y": np.arange(100.0)}, index=pd.bdate_range("2020-01-01", periods=100))
    sp = chrono_split(df, val="2020-03-02", test="2020-04-01", gap=0)
    assert sp.val.index[0] == pd.Timestamp("2020-03-02") and sp.test.index[0] == pd.Timestamp("2020-04-01")
    with pytest.raises(E.SplitError, match="leaves the val part empty"):
        chrono_split(df, val="2020-04-01", test="2020-04-01")
    with pytest.raises(E.SeriesTooShortError, match="need at least 101 rows"):
        chrono_split(df, val=50, test=50)
    with pytest.raises(E.SplitError, match="not sorted"):
        chrono_split(df.iloc[::-1])


def test_horizon_longer_than_the_parts_is_refused():
    "Issue 14, item 11: 300 rows, horizon 500 was scored from one origin on 45 rows and the run logged."
    df = pd.DataFrame({"y": np.arange(300.0)}, index=pd.bdate_range("2020-01-01", periods=300))
    sp = chrono_split(df)
    with pytest.raises(E.SplitError) as info:
        check_horizon(sp, 500)
    msg = str(info.value)
    assert "horizon=500 cannot be scored: the val part has 45 rows and the test part has 45 rows" in msg
    assert "needs 500 rows (parts: train 210, val 45, test 45)" in msg and "use horizon <= 45" in msg, msg
    assert info.value.context["parameter"] == "horizon"
    assert info.value.context["rows"] == {"train": 210, "val": 45, "test": 45}
    assert check_horizon(sp, 45) == {"val": 1, "test": 1}
    with pytest.raises(E.SplitError, match="the test part has 20 rows, but one full window of 21 steps needs 21"):
        check_horizon(chrono_split(df, val=None, test=20), 21)
    with pytest.raises(E.ConfigError, match="horizon=0"):
        check_horizon(sp, 0)


@settings(max_examples=200, deadline=None)
@given(frames, sizes, sizes, st.integers(1, 30), st.none() | st.integers(1, 10), st.integers(1, 3))
def test_check_horizon_agrees_with_the_windows_the_backtest_runs(df, val, test, horizon, step, min_windows):
    "A part passes iff walk-forward over it (origins `step` apart from its start) has `min_windows` full windows."
    try:
        sp = chrono_split(df, val=val, test=test)
    except E.SeriesTooShortError:
        return
    counts = {}
    for name, part in (("val", sp.val), ("test", sp.test)):
        if not len(part):
            continue
        start = df.index.get_loc(part.index[0])
        end = start + len(part)
        try:
            counts[name] = len(list(walk_forward_windows(end, start, horizon, step=step, partial=False)))
        except E.SeriesTooShortError:
            counts[name] = 0
        assert counts[name] == full_windows(len(part), horizon, step)
    if all(c >= min_windows for c in counts.values()):
        assert check_horizon(sp, horizon, step, min_windows) == counts
    else:
        with pytest.raises(E.SplitError, match=f"horizon={horizon} cannot be scored"):
            check_horizon(sp, horizon, step, min_windows)
