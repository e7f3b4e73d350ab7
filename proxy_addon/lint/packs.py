"""Reading a pack of YAML data (rule packs, rules/lifecycle.yaml, the migration mapping): its values
with the line of every mapping and key, from the data cache when these exact bytes were read before."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from proxy_addon.core import data_cache
from proxy_addon.lint.options import KEY_LINES, LINE


class RuleError(ValueError):
    """A rule pack that cannot be used; the message names the file, the line and the problem."""


PACK_CACHE_KIND = "rule-pack-v2"  # the loader's output: mappings with LINE and KEY_LINES


@functools.cache
def _line_loader() -> type:
    """A YAML loader that records the line of every mapping and of each of its keys, so errors can
    point at them, and refuses aliases. Built on first use: PyYAML is imported only when a pack is
    not in the cache."""
    import yaml  # noqa: PLC0415

    # libyaml's parser when PyYAML was built with it: the same documents, ~15x faster than the
    # pure Python one.
    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(safe_loader):
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            # A node built twice is an alias: a few hundred bytes of nested aliases expand to
            # gigabytes (issue 21). Packs are short enough to write out.
            if node in self.constructed_objects or node in self.recursive_objects:
                raise yaml.constructor.ConstructorError(
                    None, None, "aliases (*name) are not allowed in rule packs: the value anchored here is used again; write it out", node.start_mark)
            return super().construct_object(node, deep=deep)

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            mapping = super().construct_mapping(node, deep=deep)
            mapping[LINE] = node.start_mark.line + 1
            mapping[KEY_LINES] = {key.value: key.start_mark.line + 1 for key, _ in node.value
                                  if isinstance(key, yaml.ScalarNode)}
            return mapping

    return LineLoader


def load_yaml(path: Path) -> Any:
    """A pack's data, from the cache when this pack's exact bytes were parsed before."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleError(f"{path}: cannot read rule pack: {error}") from None
    cached = data_cache.load(PACK_CACHE_KIND, data)
    if cached is not None:
        return cached
    import yaml  # noqa: PLC0415 (see _line_loader)

    try:
        value = yaml.load(text, Loader=_line_loader())  # noqa: S506 (SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise RuleError(f"{where}: invalid YAML: {error.problem}") from None
    data_cache.store(PACK_CACHE_KIND, data, value)
    return value
