"""Coverage-guided fuzzing of parse -> lint -> fix with atheris (libFuzzer for Python).

Standalone, not a pytest module (pytest only checks that `one_input` runs on the seeds):

    .venv/bin/pip install -e '.[fuzz]'
    .venv/bin/python -m tests.fuzz_atheris -max_total_time=600          # seeds: the 94 corpus files
    .venv/bin/python -m tests.fuzz_atheris -runs=100000 my-corpus/      # your own corpus folder(s)

libFuzzer options pass through (-runs, -max_total_time, -max_len, -jobs...). Without a corpus
folder the corpus messages are copied into a fresh one under /tmp, which libFuzzer grows with
the inputs that reach new code; crashes are written as artifacts/fuzz-crash-<sha1> (replay one
with `python -m tests.fuzz_atheris artifacts/fuzz-crash-...`). The properties are the hypothesis suite's
(tests/fuzz_properties.py): no exception escapes, and fixes are sound.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from proxy_addon.lint.engine import Linter

from .builders import CORPUS, REPO
from .fuzz_properties import fixes_are_sound, survives
from .strategies import CI_CONTEXTS

_LINTER: Linter | None = None


def one_input(data: bytes) -> None:
    """One fuzz input: its first byte picks the lint context and safe/unsafe fixes, the rest is the message."""
    global _LINTER
    if _LINTER is None:
        _LINTER = Linter()
    selector, message = (data[0], data[1:]) if data else (0, data)
    context = CI_CONTEXTS[selector % len(CI_CONTEXTS)]
    survives(_LINTER, message, context)
    fixes_are_sound(_LINTER, message, context, unsafe=bool(selector & 0x80))


def _seed_folder() -> str:
    folder = Path(tempfile.mkdtemp(prefix="webex-fuzz-corpus-"))
    for number, path in enumerate(sorted(CORPUS.glob("*/*.xml"))):
        # The first byte is the selector one_input strips: each message under every context.
        for selector in range(len(CI_CONTEXTS)):
            (folder / f"{number:03d}-{selector}-{path.name}").write_bytes(bytes([selector | 0x80]) + path.read_bytes())
    return str(folder)


def main(argv: list[str]) -> None:
    import atheris  # optional: the fuzz extra

    arguments = list(argv)
    if not any(not arg.startswith("-") for arg in arguments[1:]):
        arguments.append(_seed_folder())
    if not any(arg.startswith("-artifact_prefix=") for arg in arguments):
        (REPO / "artifacts").mkdir(exist_ok=True)
        arguments.insert(1, f"-artifact_prefix={REPO / 'artifacts' / 'fuzz-crash-'}")
    atheris.instrument_all()
    atheris.Setup(arguments, one_input)
    try:
        atheris.Fuzz()
    finally:
        for arg in arguments[1:]:
            if arg.startswith(tempfile.gettempdir() + "/webex-fuzz-corpus-"):
                shutil.rmtree(arg, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)
