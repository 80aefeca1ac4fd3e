"""A string that never shows itself in logs, reprs or exception messages."""

from __future__ import annotations


class Secret:
    """Holds the API key. ``str()`` and ``repr()`` are redacted; ``reveal()`` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key out in the clear (e.g. into a multiprocessing queue).
        raise TypeError("Secret values cannot be pickled")
