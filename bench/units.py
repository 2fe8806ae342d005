"""Units: numbers as a reader wants them, with their unit ("37.3 k cmd/s", "25 MB", "1.2 ms").

Three significant digits, trailing zeros dropped; whole counts in full with
thousands separators ("16,384 nodes"). Times move to the unit that keeps them
between 1 and 1000 (µs, ms, s). Memory is counted in binary multiples, as
top and free do: 1 KB = 1,024 bytes, 1 MB = 1,024 KB. Rates take an SI prefix
(k, M, G). A missing value (None, NaN) is "–".
"""

import math
from typing import Any

MISSING = "–"

_RATE_UNITS = {"cmd/s", "ops/s", "commands/s", "msg/s"}
_COUNT_UNITS = {"nodes", "node", "threads", "tasks", "goroutines", "count", "commands",
                "messages", "clients", "trials", "elections"}
_RATIO_UNITS = {"ratio", "×", "x"}
# Time and memory units: their size in the base unit (seconds, bytes).
_TIME = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_TIME_STEPS = [(1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s")]
_MEMORY: dict[str, float] = {
    "B": 1, "bytes": 1, "KiB": 1024, "KB": 1024, "kB": 1024, "kb": 1024,
    "MiB": 1024**2, "MB": 1024**2, "GiB": 1024**3, "GB": 1024**3}
_MEMORY_STEPS: list[tuple[float, str]] = [
    (1, "B"), (1024, "KB"), (1024**2, "MB"), (1024**3, "GB"), (1024**4, "TB")]
_SI_STEPS = [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G")]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def number(value: float, digits: int = 3) -> str:
    """number: `digits` significant digits, trailing zeros dropped, thousands separated
    (1234.5 -> "1,230", 0.01234 -> "0.0123", 5.0 -> "5")."""
    if value == 0:
        return "0"
    exp = math.floor(math.log10(abs(value)))
    rounded = round(value, digits - 1 - exp)  # negative: 37345 -> 37300
    decimals = max(0, digits - 1 - exp)
    if decimals == 0:
        return f"{int(rounded):,}"
    text = f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _stepped(value: float, steps: list[tuple[float, str]], digits: int = 3) -> tuple[str, str]:
    """_stepped: the number and unit prefix that keep |value| (in base units) in [1, 1000)."""
    if value == 0:
        return "0", steps[0][1] if steps[0][0] == 1.0 else ""
    chosen = steps[0]
    for factor, name in steps:
        if abs(value) / factor >= 1:
            chosen = (factor, name)
    factor, name = chosen
    scaled = float(number(value / factor, digits).replace(",", ""))
    i = steps.index(chosen)
    if abs(scaled) >= 1000 and i + 1 < len(steps):  # 999.7 rounds up to the next unit
        factor, name = steps[i + 1]
    return number(value / factor, digits), name


def fmt(value: Any, unit: str = "", digits: int = 3) -> str:
    """fmt: value with its unit, for readers ("37.3 k cmd/s", "812 KB", "1.2 ms", "5.9×")."""
    if _missing(value):
        return MISSING
    v = float(value)
    if unit in _RATE_UNITS:
        num, prefix = _stepped(v, _SI_STEPS, digits)
        return f"{num} {prefix} {unit}" if prefix else f"{num} {unit}"
    if unit in _TIME:
        if v == 0:
            return f"0 {unit}"
        num, name = _stepped(v * _TIME[unit], _TIME_STEPS, digits)
        return f"{num} {name}"
    if unit in _MEMORY:
        if v == 0:
            return "0 B"
        num, name = _stepped(v * _MEMORY[unit], _MEMORY_STEPS, digits)
        return f"{num} {name}"
    if unit in _RATIO_UNITS:
        return f"{number(v, digits)}×"
    if unit in ("fraction", "share"):
        return f"{number(v * 100, digits)}%"
    if unit == "%":
        return f"{number(v, digits)}%"
    text = count(v) if (unit in _COUNT_UNITS or not unit) and v.is_integer() else number(v, digits)
    if unit in _COUNT_UNITS and v == 1 and unit.endswith("s"):
        unit = unit[:-1]  # 1 thread, 1 node
    return f"{text} {unit}" if unit else text


def count(value: float) -> str:
    """count: a whole number in full with thousands separators (16384 -> "16,384")."""
    return f"{round(value):,}"


def fmt_range(low: Any, high: Any, unit: str = "", digits: int = 3) -> str:
    """fmt_range: "5.1–6.8×", "35–40 µs"; the unit is written once when both ends share it."""
    if _missing(low) or _missing(high):
        return MISSING
    a, b = fmt(low, unit, digits), fmt(high, unit, digits)
    for suffix in _suffixes(b):
        if a.endswith(suffix) and suffix.strip():
            return f"{a[: len(a) - len(suffix)]}–{b}"
    return f"{a} – {b}"


def _suffixes(text: str) -> list[str]:
    """_suffixes: the unit part of a formatted value, longest first (" k cmd/s", " ms", "×")."""
    if text.endswith(("×", "%")):
        return [text[-1]]
    if " " in text:
        return [text[text.index(" "):]]
    return []


def fmt_ci(median: Any, low: Any, high: Any, unit: str = "", digits: int = 3) -> str:
    """fmt_ci: "37.3 k cmd/s (36.1–38 k cmd/s)"; the median alone when the CI is missing."""
    text = fmt(median, unit, digits)
    if _missing(low) or _missing(high):
        return text
    return f"{text} ({fmt_range(low, high, unit, digits)})"
