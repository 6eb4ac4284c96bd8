"""What the modules on every phone command's path use instead of
`dataclasses` and `typing` at run time.

A `wgdroid status` is a whole process per call, and its start is most of
what it costs beside the phone: `dataclasses` takes ~9 ms to import (inspect,
ast, dis, tokenize) and ~0.5 ms per class, `typing` ~3 ms, a NamedTuple ~0.15
ms per class. So those modules (device.connection, rootshell, script,
status, fanout, progress, memo, control, the CLI's main path) import
neither: their values derive from `Value`, their annotations stay strings
(`from __future__ import annotations`), and what only mypy needs is
imported under `if TYPE_CHECKING:` (a module-level `TYPE_CHECKING = False`,
which mypy reads as true). `Generic` and `TypeVar` below stand in for
typing's at run time; mypy sees typing's own.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Generic as Generic
    from typing import TypeVar as TypeVar

    V = TypeVar("V", bound="Value")
else:

    class Generic:
        """`class C(Generic[T])` without typing: Generic[T] is plain `object`."""

        def __class_getitem__(cls, item: object) -> type:
            return object

    def TypeVar(name: str, *args: object, **kwargs: object) -> str:
        return name


class Value:
    """A small value: its fields are its __slots__ (sorted, as ruff wants),
    set once by __init__ and never changed (not enforced: a check per
    assignment would slow a 4000-peer status down); equality, hash and repr
    go by field, `_replace` makes a changed copy (as NamedTuple's). Fields
    named in `_hidden` stay out of the repr (output that may hold a config)."""

    __slots__: tuple[str, ...] = ()
    _hidden: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__
                          if name not in self._hidden)
        return f"{type(self).__name__}({shown})"

    def _replace(self: V, **changes: Any) -> V:
        new = object.__new__(type(self))
        for name in self.__slots__:
            setattr(new, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return new
