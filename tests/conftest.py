import numpy as np
import pandas as pd
import pytest

@pytest.fixture
def bdays_frame():
    "60 business days of a clean, rising close price (no holidays in Jan-Mar 2024 matter: calendar=None)."
    idx = pd.bdate_range("2024-01-01", periods=60)
    return pd.DataFrame({"date": idx, "close": np.linspace(10, 20, 60), "volume": np.arange(60) * 100 + 1000})
