"""Columnar event storage: one `array` per field, rows sorted by (date, id).

A million events must fit in tens of megabytes, so rows are never kept as dicts: each
column is an `array`, strings are interned once in a table and referenced by index, and
a row becomes a dict only when a page is served. Date ranges are found by bisecting the
time column; filtered position lists are cached per filter key and dropped whenever a
row is inserted.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

_CACHE_LIMIT = 64


class Interner(Generic[T]):
    """A table of distinct values referenced by index; -1 stands for "absent"."""

    def __init__(self) -> None:
        self._values: list[T] = []
        self._index: dict[T, int] = {}

    def add(self, value: T) -> int:
        found = self._index.get(value)
        if found is None:
            found = len(self._values)
            self._values.append(value)
            self._index[value] = found
        return found

    def get(self, index: int) -> T:
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)


class ColumnStore:
    """Rows of integer columns plus a time column (epoch microseconds) and an id column."""

    def __init__(self, column_names: Sequence[str]) -> None:
        self.t = array("q")
        self.ids = array("q")
        self.columns: dict[str, array[int]] = {name: array("i") for name in column_names}
        self.version = 0
        self._cache: dict[Hashable, array[int]] = {}

    def __len__(self) -> int:
        return len(self.t)

    def load(self, times: Sequence[int], columns: dict[str, Sequence[int]]) -> array[int]:
        """Replace the contents with unsorted rows; return each row's final position.

        Times are nudged by a microsecond where they collide, so (date, id) order and
        date order agree and ids can be assigned afterwards without breaking ties.
        """
        order = sorted(range(len(times)), key=times.__getitem__)
        self.t = array("q", (times[i] for i in order))
        for pos in range(1, len(self.t)):
            if self.t[pos] <= self.t[pos - 1]:
                self.t[pos] = self.t[pos - 1] + 1
        for name in self.columns:
            source = columns[name]
            self.columns[name] = array("i", (source[i] for i in order))
        position = array("i", bytes(4 * len(order)))
        for pos, row in enumerate(order):
            position[row] = pos
        self.ids = array("q", bytes(8 * len(order)))
        self._touch()
        return position

    def assign_ids(self, first_id: int, rng: random.Random | None, window: int = 12) -> None:
        """Number rows in date order; with an rng, shuffle ids inside small windows.

        Audit events are written by a background channel, so their ids are only roughly
        in date order: a neighbour written a little later can hold a smaller id.
        """
        ids = list(range(first_id, first_id + len(self.t)))
        if rng is not None:
            for start in range(0, len(ids), window):
                chunk = ids[start : start + window]
                rng.shuffle(chunk)
                ids[start : start + window] = chunk
        self.ids = array("q", ids)
        self._touch()

    def next_id(self) -> int:
        return (max(self.ids) + 1) if self.ids else 1

    def insert(self, micros: int, row: dict[str, int]) -> tuple[int, int]:
        """Insert one row in sorted position with a fresh id; return (position, id)."""
        new_id = self.next_id()
        pos = bisect_right(self.t, micros)  # after equal dates: the new id is the largest
        self.t.insert(pos, micros)
        self.ids.insert(pos, new_id)
        for name, column in self.columns.items():
            column.insert(pos, row[name])
        self._touch()
        return pos, new_id

    def position_of(self, event_id: int) -> int:
        return self.ids.index(event_id)

    def span(self, start: int | None, end: int | None) -> tuple[int, int]:
        """Positions [lo, hi) with start <= t <= end (both inclusive, either open)."""
        lo = 0 if start is None else bisect_left(self.t, start)
        hi = len(self.t) if end is None else bisect_right(self.t, end)
        return lo, max(lo, hi)

    def cached(self, key: Hashable, compute: Callable[[], Iterable[int]]) -> array[int]:
        """Ascending positions for a filter key, computed once per store version."""
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = array("i", compute())
            self._cache[key] = found
        return found

    def _touch(self) -> None:
        self.version += 1
        self._cache.clear()


def newest_first(positions: Sequence[int], start_index: int, count: int) -> list[int]:
    """The page [startIndex, startIndex + count) of ascending positions read backwards."""
    start_index = max(start_index, 0)
    top = len(positions) - 1 - start_index
    bottom = max(top - count, -1)
    return [positions[i] for i in range(top, bottom, -1)]


def newest_first_span(lo: int, hi: int, start_index: int, count: int) -> list[int]:
    """The same over a contiguous span, without materialising it: O(count)."""
    start_index = max(start_index, 0)
    top = hi - 1 - start_index
    bottom = max(top - count, lo - 1)
    return list(range(top, bottom, -1))
