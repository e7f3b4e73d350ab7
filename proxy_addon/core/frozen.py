"""Small immutable values that `check` creates at import, without the cost of a dataclass.

A frozen dataclass costs start-up ~0.3-0.8 ms to create (its methods are generated as source and
compiled); a class of this kind costs next to nothing. Declare the fields in `__slots__`, defaults
in `_defaults`; instances are built by position or keyword, compare and hash by their fields, and
refuse assignment.
"""

from __future__ import annotations

from typing import Any, ClassVar


class _DataclassFields:
    """`__dataclass_fields__` worked out on first use, so that what code written for the dataclasses
    these classes replace does (dataclasses.replace, fields, asdict) still works; the dataclasses
    module is imported only then."""

    def __init__(self) -> None:
        self._by_class: dict[type, dict[str, Any]] = {}

    def __get__(self, instance: object, owner: type) -> dict[str, Any]:
        found = self._by_class.get(owner)
        if found is None:
            import dataclasses  # noqa: PLC0415

            found = {}
            for name in getattr(owner, "_FIELDS", ()) or owner.__slots__:
                described = dataclasses.field()
                described.name, described._field_type = name, dataclasses._FIELD  # type: ignore[attr-defined]
                found[name] = described
            self._by_class[owner] = found
        return found


class Frozen:
    __slots__ = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _FIELDS: ClassVar[tuple[str, ...]] = ()  # the fields, when not every slot is one (default: __slots__)
    __dataclass_fields__ = _DataclassFields()

    def __init__(self, *values: Any, **named: Any):
        # Start-up builds a few hundred of these (rules, lifecycle.yaml): positional values are set
        # straight away, and only the fields after them are looked up by name.
        names = self.__slots__
        count = len(values)
        if count > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} values, not {count}")
        define = object.__setattr__
        for name, value in zip(names, values):
            define(self, name, value)
        if count < len(names):
            defaults = self._defaults
            for name in names[count:]:
                if name in named:
                    value = named.pop(name)
                elif name in defaults:
                    value = defaults[name]
                else:
                    raise TypeError(f"{type(self).__name__} needs {name!r}")
                define(self, name, value)
        if named:  # a name that is no field, or a field also given by position
            raise TypeError(f"{type(self).__name__}: unexpected or repeated field {next(iter(named))!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[Any, ...]:  # pickling would otherwise set the slots one by one
        return type(self), self._fields()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"


class LazyPattern:
    """A regular expression compiled on first use: `re.compile` at import costs `check` start-up
    ~0.1-1 ms a pattern, and most patterns serve a path one run never takes (a HAR export, a
    credential in a finding). Reads like the compiled pattern; once compiled, its methods sit in
    slots, so a hot loop pays a plain attribute lookup."""

    __slots__ = ("pattern", "flags", "match", "fullmatch", "search", "finditer", "findall", "sub", "subn",
                 "split", "groupindex", "groups")

    def __init__(self, pattern: str | bytes, flags: int = 0):
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:  # only until compiled: then every name is a filled slot
        import re  # noqa: PLC0415 (re itself is imported by then: this is a dictionary lookup)

        compiled = re.compile(self.pattern, self.flags)
        for method in LazyPattern.__slots__[2:]:
            setattr(self, method, getattr(compiled, method))
        self.flags = compiled.flags
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"


class Plain:
    """A mutable record without a dataclass's creation cost: the subclass writes its `__init__` (a
    hot one stays as fast as the dataclass's) and names its fields in `_FIELDS`; equality and repr
    are over them, and it is unhashable, as a dataclass with eq."""

    __slots__ = ()
    _FIELDS: ClassVar[tuple[str, ...]] = ()
    __dataclass_fields__ = _DataclassFields()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._FIELDS)})"

    def replace(self, **changes: Any) -> Any:
        """A copy with these fields changed (what dataclasses.replace gave)."""
        values = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        return type(self)(**values)
