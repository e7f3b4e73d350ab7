"""The schema language of check options: what each check function accepts, checked at load.

A check declares its options with these small types (`@check("pattern", match=Regex(required=True))`).
When a rule pack loads, `Record.load` walks the YAML value, rejects unknown keys at every depth,
checks types, and converts what can be converted once (regular expressions compiled, versions
parsed, selectors compiled), so a pack that loads never fails at lint time. Problems carry the
line of the YAML node they are about.

YAML mappings arrive as dicts with `__line__` (the mapping's line) and `__lines__` (each key's
line), recorded by the rule pack loader.
"""

from __future__ import annotations

import re
from typing import Any

from proxy_addon.core.versions import parse_version
from proxy_addon.lint.selector import SelectorError, compile_selector

LINE, KEY_LINES = "__line__", "__lines__"


class OptionError(ValueError):
    """A problem with one option value; `line` is the YAML line it is on, when known."""

    def __init__(self, problem: str, line: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.line = line


def plain(value: Any) -> Any:
    """The YAML value without the loader's line bookkeeping."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in (LINE, KEY_LINES)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def line_of(value: Any, key: str | None = None, default: int | None = None) -> int | None:
    """The line of a mapping (or of one of its keys), else `default`."""
    if isinstance(value, dict):
        if key is not None and key in value.get(KEY_LINES, {}):
            return value[KEY_LINES][key]
        return value.get(LINE, default)
    return default


class Option:
    """One value: its type's name for messages, and whether the enclosing record requires it.

    Plain classes, not dataclasses: a dataclass costs start-up ~0.8 ms to create, and `check`
    creates every option type at import."""

    __slots__ = ("required",)
    kind = "a value"

    def __init__(self, *, required: bool = False):
        self.required = required

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for cls in type(self).__mro__
                          for name in getattr(cls, "__slots__", ()))
        return f"{type(self).__name__}({shown})"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        raise NotImplementedError


def _type_error(option: Option, value: Any, where: str, line: int | None) -> OptionError:
    shown = "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) else repr(plain(value))
    return OptionError(f"{where} must be {option.kind}, not {shown}", line)


class Text(Option):
    __slots__ = ()
    kind = "text"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, str) or not value:
            raise _type_error(self, value, where, line)
        return value


class Integer(Option):
    __slots__ = ("minimum",)
    kind = "a whole number"

    def __init__(self, *, required: bool = False, minimum: int | None = None):
        super().__init__(required=required)
        self.minimum = minimum

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(self, value, where, line)
        if self.minimum is not None and value < self.minimum:
            raise OptionError(f"{where} must be at least {self.minimum}, not {value}", line)
        return value


class Boolean(Option):
    __slots__ = ()
    kind = "true or false"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, bool):
            raise _type_error(self, value, where, line)
        return value


class Regex(Option):
    """A regular expression, compiled at load."""

    __slots__ = ()
    kind = "a regular expression"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, str) or not value:
            raise _type_error(self, value, where, line)
        try:
            return re.compile(value)
        except re.error as error:
            raise OptionError(f"{where}: {value!r} is not a regular expression: {error}", line) from None


class VersionText(Option):
    """An XML API version ("39.8", "11.0 SP13"), parsed at load."""

    __slots__ = ()
    kind = "an XML API version"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _type_error(self, value, where, line)
        try:
            return parse_version(str(value))
        except ValueError as error:
            raise OptionError(f"{where}: {error}", line) from None


class SelectorText(Option):
    """A `given`-style selector ($body/...), compiled at load."""

    __slots__ = ()
    kind = "a selector"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, str):
            raise _type_error(self, value, where, line)
        try:
            return compile_selector(value)
        except SelectorError as error:
            raise OptionError(f"{where}: {error}", line) from None


class ListOf(Option):
    __slots__ = ("item", "min_items")

    def __init__(self, *, required: bool = False, item: Option | None = None, min_items: int = 1):
        super().__init__(required=required)
        self.item = item if item is not None else Text()
        self.min_items = min_items

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"a list of {self.item.kind}"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, list):
            raise _type_error(self, value, where, line)
        if len(value) < self.min_items:
            raise OptionError(f"{where} needs at least {self.min_items} item(s)", line)
        return [self.item.load(v, f"{where}[{i}]", line_of(v, default=line)) for i, v in enumerate(value)]


class MapOf(Option):
    """A mapping whose keys are names the rule chooses (credentials: name -> selector)."""

    __slots__ = ("value", "keys")

    def __init__(self, *, required: bool = False, value: Option | None = None, keys: frozenset[str] | None = None):
        super().__init__(required=required)
        self.value = value if value is not None else Text()
        self.keys = keys  # when set, the only keys allowed

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"a mapping of names to {self.value.kind}"

    def load(self, value: Any, where: str, line: int | None) -> Any:
        if not isinstance(value, dict) or not plain(value):
            raise _type_error(self, value, where, line)
        loaded = {}
        for key, item in plain_items(value):
            key_line = line_of(value, key, line)
            if self.keys is not None and key not in self.keys:
                raise OptionError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(self.keys))})", key_line)
            loaded[str(key)] = self.value.load(item, f"{where}.{key}", line_of(item, default=key_line))
        return loaded


class Record(Option):
    """A mapping with known keys: required ones must be there, unknown ones are rejected."""

    __slots__ = ("fields",)
    kind = "a mapping"

    def __init__(self, *, required: bool = False, fields: dict[str, Option] | None = None):
        super().__init__(required=required)
        self.fields = fields if fields is not None else {}

    def load(self, value: Any, where: str, line: int | None) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise _type_error(self, value, where, line)
        line = line_of(value, default=line)
        for key, _ in plain_items(value):  # a misspelled key first: it explains a "missing" one
            if key not in self.fields:
                import difflib  # noqa: PLC0415 (only a broken pack needs it)

                close = difflib.get_close_matches(str(key), sorted(self.fields), n=1)
                known = (f" (did you mean {close[0]!r}?)" if close else
                         f" (known: {', '.join(sorted(self.fields))})" if self.fields else " (it takes none)")
                raise OptionError(f"{where}: unknown option {key!r}{known}", line_of(value, key, line))
        missing = [name for name, option in self.fields.items() if option.required and name not in value]
        if missing:
            raise OptionError(f"{where} needs {', '.join(map(repr, missing))}", line)
        loaded = {}
        for key, item in plain_items(value):
            key_line = line_of(value, key, line)
            loaded[key] = self.fields[key].load(item, f"{where}.{key}" if where else key, line_of(item, default=key_line))
        return loaded


def plain_items(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in mapping.items() if k not in (LINE, KEY_LINES)]


__all__ = ["Boolean", "Integer", "ListOf", "MapOf", "Option", "OptionError", "Record", "Regex",
           "SelectorText", "Text", "VersionText", "line_of", "plain", "plain_items"]
