"""A registry: the one place a kind of extension (a method, a data set) is listed.

Private: :mod:`watlib.methods` and :mod:`watlib.data.registry` each hold one and export its
public functions. A :class:`Registry` maps a name to its entry in the order of registration;
:meth:`Registry.names` is a live view of its names (optionally only those whose entry passes a
test), so that a tuple-like constant built from it at import time, such as
:data:`watlib.methods.METHODS`, still sees an entry registered later: the configuration
checks, the command line's choices and the results tables read the registry, not a copy.

Examples
--------
>>> reg = Registry("colour")
>>> reg.register("red", 1); reg.register("blue", 2)
>>> warm = reg.names(lambda value: value == 1)
>>> tuple(reg.names()), tuple(warm), reg["blue"]
(('red', 'blue'), ('red',), 2)
>>> reg.register("orange", 1)
>>> warm
('red', 'orange')
>>> reg["green"]
Traceback (most recent call last):
...
ValueError: colour must be one of ('red', 'blue', 'orange'), got 'green'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from ._checks import check_choice

__all__ = ["Registry", "NameView", "AttributeView"]


class NameView(Sequence):
    """The names of a registry whose entries pass ``where``, read anew on each use.

    It compares equal to the tuple of its names and prints as that tuple.
    """

    def __init__(self, registry: Registry, where: Callable | None = None):
        self._registry = registry
        self._where = where

    def _names(self) -> tuple:
        entries = self._registry._entries
        return tuple(name for name, entry in entries.items() if self._where is None or self._where(entry))

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name) -> bool:
        return name in self._names()

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and self._names() == tuple(other)

    def __hash__(self):  # a live view is not a constant: no hash
        raise TypeError("a NameView changes with its registry and cannot be hashed; take tuple(view)")

    def __repr__(self) -> str:
        return repr(self._names())


class AttributeView(Mapping):
    """Name -> ``getattr(entry, attr)`` for every entry of a registry, read anew on each use (a live,
    read-only mapping)."""

    def __init__(self, registry: Registry, attr: str):
        self._registry = registry
        self._attr = attr

    def __getitem__(self, name):
        return getattr(self._registry[name], self._attr)

    def __contains__(self, name) -> bool:
        return name in self._registry

    def get(self, name, default=None):
        return getattr(self._registry[name], self._attr) if name in self._registry else default

    def __iter__(self):
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __repr__(self) -> str:
        return repr(dict(self))


class Registry(Mapping):
    """Name -> entry, in registration order; read-only but for :meth:`register` and :meth:`unregister`.

    Parameters
    ----------
    kind : str
        What a name names (``"method"``, ``"dataset"``): the argument an unknown name's
        ValueError blames.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict = {}

    def register(self, name: str, entry, *, replace: bool = False) -> None:
        """Add ``entry`` under ``name``; a name already taken is a ValueError unless ``replace``."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a {self.kind}'s name must be a Python identifier (it becomes part of file names "
                             f"and command-line choices), got {name!r}")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered ({self._entries[name]!r}); pass "
                             "replace=True to replace it")
        self._entries[name] = entry

    def unregister(self, name: str):
        """Remove ``name`` and return its entry (a KeyError-free ValueError for an unknown name)."""
        check_choice(self.kind, name, self._entries)
        return self._entries.pop(name)

    def names(self, where: Callable | None = None) -> NameView:
        """A live view of the names whose entry passes ``where`` (every name by default)."""
        return NameView(self, where)

    def __getitem__(self, name):
        return self._entries[check_choice(self.kind, name, self._entries)]

    def get(self, name, default=None):
        return self._entries.get(name, default)

    def attribute(self, attr: str) -> Mapping:
        """A live read-only mapping of each name to its entry's attribute ``attr``."""
        return AttributeView(self, attr)

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
