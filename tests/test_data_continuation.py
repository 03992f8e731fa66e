"""New observations that leave dates out: the model's GapError names the missing dates (issue 14, item 14)."""

import pytest
from forecast_nb import errors as E
from forecast_nb.data import load
from forecast_nb.models import get_model
from forecast_nb.pyfunc import forecast_request


@pytest.fixture(scope="module")
def history():
    "AAPL close; the model knows all but the last 10 trading days (it continues at 2013-02-15; 02-18 was a holiday)."
    y = load("sample:AAPL")["close"]
    return y, get_model("naive").fit(y.iloc[:-10]), y.iloc[-10:]


def test_a_gap_inside_the_new_observations_names_the_missing_dates(history):
    _, model, new = history
    with pytest.raises(E.GapError) as info:
        model.update(new.drop(new.index[[3, 4, 6]]))
    msg = str(info.value)
    assert "3 timestamp(s) missing against freq C, first at 2013-02-21, 2013-02-22, 2013-02-26" in msg, msg
    assert "3 inside the new observations (2013-02-15 to 2013-03-01)" in msg
    assert "but the series continues" not in msg
    assert info.value.context["rows"] == list(new.index[[3, 4, 6]])


def test_a_gap_at_the_start_names_the_missing_dates(history):
    _, model, new = history
    with pytest.raises(E.GapError) as info:
        model.update(new.iloc[2:])
    msg = str(info.value)
    assert (
        "2 timestamp(s) missing against freq C, first at 2013-02-15, 2013-02-19: 2 between the end of the history"
        " (2013-02-14) and the first new observation (2013-02-20)" in msg
    ), msg
    assert info.value.hint.startswith("send the observations from 2013-02-15 on")


def test_a_gap_at_the_start_and_inside(history):
    _, model, new = history
    with pytest.raises(E.GapError, match=r"3 timestamp\(s\) missing .*: 1 between .* and 2 inside"):
        model.update(new.drop(new.index[[0, 3, 4]]))


def test_the_pyfunc_path_surfaces_the_same_error(history):
    "The request path the API and the registered pyfunc share: a history with a hole in it."
    from forecast_nb.pyfunc import ForecastNBModel

    _, model, new = history
    holed = new.drop(new.index[[3, 4]])
    request = forecast_request(horizon=3, history=holed)
    pyfunc = ForecastNBModel()
    pyfunc.model = model
    with pytest.raises(E.GapError, match=r"2 timestamp\(s\) missing against freq C, first at 2013-02-21, 2013-02-22"):
        pyfunc.predict(None, request)
    assert len(pyfunc.predict(None, forecast_request(horizon=3, history=new))) == 3  # the full history is fine
