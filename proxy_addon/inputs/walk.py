"""Which files a folder holds for check and audit, the way ruff finds Python files in a repository.

A folder is searched recursively for .xml files, HAR exports and flow dumps, leaving out
- folders and files matched by `exclude` (default DEFAULT_EXCLUDE: .git, .venv, node_modules,
  __pycache__, ...) and `extend-exclude`, gitignore-style patterns relative to the configuration
  file's folder (the current folder without one);
- what the repository's .gitignore files ignore (those inside the folder, and those above it up to
  the repository's root);
- .xml files that are not `message` envelopes: a Java project's pom.xml or log4j2.xml is not a Webex
  XML API message. They are counted in `not_messages` (`--verbose` names them).
A file named on the command line is always read, whatever its name, place or content, unless
`force_exclude` is set (ruff's --force-exclude, for pre-commit hooks, which name every changed
file): then the exclude patterns apply to it too, and a named .xml file that is not a message is
skipped as a folder walk would skip it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from proxy_addon.core.frozen import LazyPattern
from proxy_addon.exchange.sniff import SNIFF_BYTES, is_message
from proxy_addon.inputs.model import CaptureError

if TYPE_CHECKING:
    import pathspec

XML_SUFFIXES = {".xml"}
HAR_SUFFIXES = {".har"}
FLOW_SUFFIXES = {".flow", ".flows", ".mitm", ".dump"}
# Files picked up when a folder is searched; a file named explicitly is read whatever its name.
KNOWN_SUFFIXES = XML_SUFFIXES | HAR_SUFFIXES | FLOW_SUFFIXES

# ruff's default exclusions, plus __pycache__: tool and dependency folders, never the project's messages.
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox", ".pants.d", ".pytype",
    ".ruff_cache", ".svn", ".tox", ".venv", "__pycache__", "__pypackages__", "_build", "buck-out", "dist",
    "node_modules", "venv",
)

class Walk:
    """The files under the paths given, and what was left out on the way. (A plain class: a
    dataclass costs every start-up ~0.7 ms to create.)"""

    def __init__(self, exclude: tuple[str, ...] = DEFAULT_EXCLUDE, extend_exclude: tuple[str, ...] = (),
                 root: Path | None = None, messages_only: bool = True, force_exclude: bool = False):
        self.exclude = exclude
        self.extend_exclude = extend_exclude
        self.root = root  # the folder exclude patterns are relative to (None: the current folder)
        self.messages_only = messages_only  # skip .xml files that are not message envelopes
        self.force_exclude = force_exclude  # named files too are excluded and sniffed
        self.not_messages: list[Path] = []
        self.excluded = 0

    def __repr__(self) -> str:
        return (f"Walk(exclude={self.exclude!r}, extend_exclude={self.extend_exclude!r}, root={self.root!r}, "
                f"messages_only={self.messages_only!r}, force_exclude={self.force_exclude!r})")

    @classmethod
    def from_settings(cls, settings) -> Walk:
        exclude = DEFAULT_EXCLUDE if settings.exclude is None else settings.exclude
        return cls(exclude=exclude, extend_exclude=settings.extend_exclude,
                   root=Path(settings.root) if settings.root else None, force_exclude=settings.force_exclude)

    def files(self, paths: Iterable[str]) -> Iterator[Path | CaptureError]:
        """Every file to read: named files as given, folders searched (.xml files that are not
        messages left out, see `candidates`)."""
        for item in self.candidates(paths):
            if isinstance(item, CaptureError):
                yield item
                continue
            path, sniff = item
            if sniff and self.skip_not_message(path, _head(path)):
                continue
            yield Path(path)

    def candidates(self, paths: Iterable[str]) -> Iterator[tuple[str, bool] | CaptureError]:
        """(path, sniff) for every file to read, in order; `sniff`: an .xml file a folder walk found,
        to be left out (`skip_not_message`) if its first bytes are not a message. Who reads the
        file sniffs the bytes it read: one open per file, not one to sniff and one to read."""
        excluded = None  # compiled for the first folder: a named file needs no pattern
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                if excluded is None:
                    excluded = _Excludes([*self.exclude, *self.extend_exclude])
                yield from self._search(path, excluded)
            elif path.is_file():
                if self.force_exclude:
                    if excluded is None:
                        excluded = _Excludes([*self.exclude, *self.extend_exclude])
                    if self._named_left_out(path, excluded):
                        continue
                yield str(path), False
            else:
                yield CaptureError(raw, "no such file or folder")

    def skip_not_message(self, path: str, head: bytes | None) -> bool:
        """For a candidate to sniff: True (and counted) when `head`, its first bytes, is not a message.
        None (the file could not be read): read it anyway, reading it again reports why it cannot."""
        if head is None or is_message(head[:SNIFF_BYTES]):
            return False
        self.not_messages.append(Path(path))
        return True

    def _named_left_out(self, path: Path, excluded: _Excludes) -> bool:
        """With force_exclude: whether a file named on the command line is left out, as a folder
        walk from the project's root would leave it out (a pattern, or XML that is not a message)."""
        root = str((self.root or Path.cwd()).resolve())
        absolute = os.path.abspath(path)
        relative = _relative(absolute, root) or absolute.replace(os.sep, "/").lstrip("/")
        if excluded.match(relative):
            self.excluded += 1
            return True
        return self.messages_only and path.suffix.lower() in XML_SUFFIXES and \
            self.skip_not_message(str(path), _head(str(path)))

    def _search(self, top: Path, excluded: _Excludes) -> Iterator[tuple[str, bool]]:
        """The files under `top` to read, in path order. Strings and directory entries, not Path
        objects and a stat per name: the walk of a thousand files cost more than linting half of them.
        Exclude patterns that are plain names (the defaults: `.git`, `node_modules`) are a set looked
        up once per folder and name; .gitignore files are read where a folder's listing shows one."""
        root = (self.root or Path.cwd()).resolve()
        if not top.resolve().is_relative_to(root):
            root = top.resolve()  # a folder outside the project: its patterns apply from the folder itself
        root_text = str(root)
        found: list[str] = []
        pending = [(os.path.abspath(top), str(top), _ancestor_gitignores(top.resolve()))]
        while pending:
            absolute, shown, ignores = pending.pop()
            try:
                with os.scandir(shown) as scan:
                    entries = list(scan)
            except OSError:
                continue
            if any(entry.name == ".gitignore" for entry in entries):
                gitignore = _gitignore(Path(shown))
                if gitignore is not None:
                    ignores = [*ignores, (Path(absolute).resolve(), gitignore)]
            folder = _relative(absolute, root_text)
            # A plain name among this folder's own components excludes everything in it.
            folder_excluded = folder is not None and excluded.names_any(folder)
            for entry in entries:
                name = entry.name
                # As str(Path(...)) writes it: no "./" before what `check .` finds.
                shown_path = name if shown == "." else entry.path
                try:
                    is_folder = entry.is_dir()
                    linked = entry.is_symlink()
                except OSError:
                    continue
                if is_folder:
                    if not linked and not self._left_out(os.path.join(absolute, name), root_text, excluded,
                                                         ignores, folder=True, plain=folder_excluded):
                        pending.append((os.path.join(absolute, name), shown_path, ignores))
                    continue
                suffix = os.path.splitext(name)[1].lower()
                if suffix not in KNOWN_SUFFIXES:
                    continue
                try:
                    is_file = entry.is_file()
                except OSError:
                    continue
                if not is_file:
                    continue
                if linked:  # where the link points decides, whatever the folder it sits in
                    left_out = self._left_out(os.path.realpath(shown_path), root_text, excluded, ignores, folder=False)
                else:
                    left_out = self._left_out(os.path.join(absolute, name), root_text, excluded, ignores,
                                              folder=False, plain=folder_excluded)
                if not left_out:
                    found.append(shown_path)
        sniff = self.messages_only
        for shown_path in sorted(found):
            yield shown_path, sniff and os.path.splitext(shown_path)[1].lower() in XML_SUFFIXES

    def _left_out(self, absolute: str, root: str, excluded: _Excludes,
                  ignores: list[tuple[Path, pathspec.PathSpec]], *, folder: bool, plain: bool | None = None) -> bool:
        """Whether the file or folder at `absolute` (symlinks resolved) is excluded or .gitignore'd.
        `plain`: whether its folder is known to be excluded by a plain name (None: not known)."""
        suffix = "/" if folder else ""
        relative = _relative(absolute, root) or os.path.basename(absolute)
        if plain is None:
            hit = excluded.match(relative + suffix)
        else:
            hit = plain or excluded.names_has(os.path.basename(absolute)) or excluded.others_match(relative + suffix)
        if hit:
            self.excluded += 1
            return True
        ignored = None
        for base, spec in ignores:  # deeper .gitignore files come later and win
            inside = _relative(absolute, str(base))
            if inside is not None:
                verdict = spec.check_file(inside + suffix).include
                ignored = verdict if verdict is not None else ignored
        if ignored:
            self.excluded += 1
        return bool(ignored)


# An exclude pattern that is only a name (`.git`, `node_modules`, `__pycache__`): gitignore matches it
# against every component of a path, which a set answers without a regex per pattern.
_PLAIN_NAME = LazyPattern(r"(?!\.*\Z)[\w.-]+")


class _Excludes:
    """`exclude` and `extend-exclude`, compiled once per walk: gitignore-style, as pathspec reads
    them, with plain names looked up in a set and only the other patterns given to pathspec."""

    def __init__(self, patterns: list[str]):
        if any(pattern.startswith("!") for pattern in patterns):  # a negation needs gitignore's order
            self.names: frozenset[str] = frozenset()
            others = patterns
        else:
            self.names = frozenset(pattern for pattern in patterns if _PLAIN_NAME.fullmatch(pattern))
            others = [pattern for pattern in patterns if pattern not in self.names]
        real = [pattern for pattern in others if pattern.strip() and not pattern.startswith("#")]
        self.others = _spec(others) if real else None

    def names_has(self, name: str) -> bool:
        return name in self.names

    def names_any(self, relative: str) -> bool:
        """Whether a plain name is one of the components of `relative` ("/"-separated)."""
        return bool(self.names) and bool(relative) and not self.names.isdisjoint(relative.split("/"))

    def others_match(self, relative: str) -> bool:
        return self.others is not None and self.others.match_file(relative)

    def match(self, relative: str) -> bool:
        """What pathspec's match_file of every pattern answers for `relative` (a folder ends in "/")."""
        return self.names_any(relative.rstrip("/")) or self.others_match(relative)


def _relative(path: str, base: str) -> str | None:
    """`path` relative to the folder `base` ("/"-separated), or None outside it. Both absolute and
    normalised: string work, as pathlib's relative_to cost a walk of a thousand files 0.2 s."""
    if path == base:
        return ""
    prefix = base if base.endswith(os.sep) else base + os.sep
    if not path.startswith(prefix):
        return None
    return path[len(prefix):].replace(os.sep, "/")


def _gitignore(folder: Path) -> pathspec.PathSpec | None:
    try:
        lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _spec(lines)


def _spec(lines: list[str]) -> pathspec.PathSpec:
    """Gitignore-style patterns, compiled. pathspec is imported here, by the first folder walk or
    per-file ignore: `check FILE` needs neither (~10 ms of start-up).

    pathspec turns each `*` into `[^/]*`, and Python's regex tries every split between them: a
    .gitignore line `*a*a*a*a*a*a*b` took 12 s on one 90-character name (O(n^stars); git itself
    hangs on it). Every `*` followed by a fixed-length piece and another `*` is rewritten to take
    the piece's first occurrence and never give it back, `(?>[^/]*?piece)`: for fixed-length pieces
    the first occurrence is always a right choice, so the answers are the same and each segment is
    matched in linear time.
    """
    import pathspec  # noqa: PLC0415

    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    for pattern in spec.patterns:
        regex = getattr(pattern, "regex", None)
        if regex is not None and _STAR_THEN_PIECE.search(regex.pattern):
            pattern.regex = re.compile(_STAR_THEN_PIECE.sub(r"(?>[^/]*?\1)", regex.pattern), regex.flags)
    return spec


# In pathspec's regex: a star ("[^/]*"), then a piece of fixed length (escaped characters, literal
# characters, bracket expressions; no quantifier, group or slash), then another star.
_STAR_THEN_PIECE = LazyPattern(r"\[\^/\]\*((?:\\.|\[(?:\\.|[^\]\\])+\]|[^\\\[\](){}/$^*?+|.])+)(?=\[\^/\]\*)")


def _ancestor_gitignores(top: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """The .gitignore files above `top` up to its repository's root (none outside a repository)."""
    above: list[tuple[Path, pathspec.PathSpec]] = []
    if (top / ".git").exists():
        return above
    for folder in top.parents:
        gitignore = _gitignore(folder)
        if gitignore is not None:
            above.append((folder, gitignore))
        if (folder / ".git").exists():
            return list(reversed(above))
    return []


def _head(path: str) -> bytes | None:
    """A file's first bytes, enough to sniff; None when it cannot be read."""
    try:
        with open(path, "rb") as stream:
            return stream.read(SNIFF_BYTES)
    except OSError:
        return None


class PerFileIgnores:
    """`per-file-ignores`: the rules left out for files matching gitignore-style patterns, relative
    to the configuration file's folder (ruff's setting of the same name)."""

    def __init__(self, table: dict[str, tuple[str, ...]], root: Path | None = None):
        self.root = (root or Path.cwd()).resolve()
        self.table = [(_spec([pattern]), codes) for pattern, codes in table.items()]

    def rules_for(self, path: str) -> tuple[str, ...]:
        """The selectors ignored for the file at `path` (none for stdin)."""
        if not self.table or path == "-":
            return ()
        absolute = os.path.abspath(path)
        relative = _relative(absolute, str(self.root)) or absolute.replace(os.sep, "/").lstrip("/")
        return tuple(code for spec, codes in self.table if spec.match_file(relative) for code in codes)
