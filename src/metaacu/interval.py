"""The interval estimate type, a leaf every result module imports (no type cycle through results)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Interval"]


@dataclass(frozen=True)
class Interval:
    """An interval estimate: ``low`` and ``high`` (floats, or arrays for per-study intervals)."""

    low: Any
    high: Any
    level: float
    method: str = ""

    def __iter__(self) -> Iterator[Any]:
        return iter((self.low, self.high))

    def __repr__(self) -> str:
        if np.ndim(self.low) == 0:
            return f"Interval(low={self.low:.6g}, high={self.high:.6g}, level={self.level:g}, method={self.method!r})"
        return f"Interval(k={np.size(self.low)}, level={self.level:g}, method={self.method!r})"
