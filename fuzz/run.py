"""Run one fuzz target under atheris (libFuzzer):

    .venv/bin/python -m fuzz.run TARGET [libFuzzer options and corpus directories or input files]

The target's packages are instrumented for coverage as they are imported; the target's own libFuzzer options
(input size, per-input timeout) come first, so options given here override them. Given files instead of
directories, libFuzzer runs just those inputs (a crash's reproduction). `python -m fuzz.replay` runs inputs
without atheris. A failure is announced on stderr with its signature (`fuzz-signature: …`); failures whose
signature the file named by FUZZ_KNOWN lists are let pass (`make fuzz` reports each distinct failure once)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from fuzz.replay import signature
from fuzz.targets import TARGETS, load

KNOWN_ENV = "FUZZ_KNOWN"
SIGNATURE_MARK = "fuzz-signature: "


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in TARGETS:
        raise SystemExit(f"usage: python -m fuzz.run {{{','.join(TARGETS)}}} [libFuzzer arguments]")
    import atheris  # only here: the targets themselves run without it

    name = args[0]
    instrument = _instrumented_packages(name)
    with atheris.instrument_imports(include=list(instrument)):
        target = load(name)
    atheris.Setup([sys.argv[0], *target.OPTIONS, *args[1:]], _reporting(target.one_input, _known()))
    atheris.Fuzz()


def _known() -> frozenset[str]:
    """Signatures of failures already found (one per line in the file FUZZ_KNOWN names): inputs failing that way
    pass, so that the fuzzer goes on looking for other ones."""
    path = os.environ.get(KNOWN_ENV)
    if not path or not os.path.exists(path):
        return frozenset()
    with open(path, encoding="utf-8") as known:
        return frozenset(line.strip() for line in known if line.strip())


def _reporting(one_input: Callable[[bytes], None], known: frozenset[str]) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        try:
            one_input(data)
        except Exception as exc:
            found = signature(exc)
            if found in known:
                return
            print(f"{SIGNATURE_MARK}{found}", file=sys.stderr, flush=True)
            raise

    return run


def _instrumented_packages(name: str) -> tuple[str, ...]:
    """The target's INSTRUMENT, read from its source without importing it (importing it would import the very
    modules that must be instrumented as they load)."""
    import ast
    from pathlib import Path

    source = Path(__file__).with_name("targets").joinpath(f"{name}.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "INSTRUMENT" for t in node.targets):
            value = ast.literal_eval(node.value)
            return tuple(value)
    return ("apiway",)


if __name__ == "__main__":
    main()
