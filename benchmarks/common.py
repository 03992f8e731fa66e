"""Shared helpers of the benchmark scripts: timing and the result table."""

import time


def timed(fn):
    "Seconds `fn()` took, and what it returned."
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def report(rows, width=58) -> bool:
    "Print (case, seconds, target or None) rows as a table; True when every target is met."
    print(f"{'case':<{width}}{'median s':>10}{'target s':>10}  ok")
    for name, s, target in rows:
        print(
            f"{name:<{width}}{s:>10.4f}{'' if target is None else f'{target:.3f}':>10}  "
            f"{'' if target is None else ('yes' if s < target else 'NO')}"
        )
    return all(s < target for _, s, target in rows if target is not None)
