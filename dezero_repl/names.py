"""The session's named variables: a dict from name to Variable that also knows, for each
value, its name, so that a statement asks which values are named without going through
them all (with 20,000 variables, every statement took 35 times as long).

A value has at most one name: assigning a value already named gives it a node of its own
(``Session._bind``).
"""

from __future__ import annotations

from typing import Any

from dezero import Variable


class Variables(dict[str, Variable]):
    """name -> Variable, with ``names``: id(value) -> name, and ``rank``: name -> its place
    in the dict's order (a name assigned again keeps its place, as in any dict). Only the
    methods the session uses change it: item assignment, ``del``, ``pop`` and ``clear``.
    The others that would bypass the index (``update``, ``|=``, ``setdefault``,
    ``popitem``) raise."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[int, str] = {}
        self.rank: dict[str, int] = {}
        self._given = 0  # names given so far: the next one's rank

    def __setitem__(self, name: str, value: Variable) -> None:
        old = self.get(name)
        if old is not None:
            del self.names[id(old)]
        else:
            self.rank[name], self._given = self._given, self._given + 1
        super().__setitem__(name, value)
        self.names[id(value)] = name

    def __delitem__(self, name: str) -> None:
        del self.names[id(self[name])], self.rank[name]
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            del self.names[id(self[name])], self.rank[name]
        return super().pop(name, *default)

    def clear(self) -> None:
        self.names.clear()
        self.rank.clear()
        super().clear()

    def named(self, value: Any) -> bool:
        """Whether ``value`` is the value of a variable."""
        return id(value) in self.names

    def with_id(self, key: int) -> Variable:
        """The named value whose id is ``key``."""
        return self[self.names[key]]

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("assign variables one by one")

    def setdefault(self, *args: Any) -> Any:
        raise TypeError("assign variables one by one")

    def __ior__(self, other: Any) -> Any:  # type: ignore[misc]  # dict types it by overloads
        raise TypeError("assign variables one by one")

    def popitem(self) -> tuple[str, Variable]:
        raise TypeError("remove variables by name")
