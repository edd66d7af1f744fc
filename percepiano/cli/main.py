"""The ``percepiano`` command.

Each command group lives in a module of ``percepiano.cli`` exposing ``register(subparsers)``;
this file only lists them (in the order of the data flow), imports the one a command needs,
parses, and turns known errors (bad input, and any ``OSError``: a file or folder the system
refused) into one line on stderr with a non-zero exit (never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from pathlib import Path

from percepiano.errors import UserError

# command -> the module of ``percepiano.cli`` that registers it, in the order `percepiano --help`
# lists them (the data flow); a command's module is imported only when it is run or listed
COMMANDS = {"data": "data", "splits": "splits", "ceiling": "ceiling", "baselines": "baselines",
            "render": "render", "features": "features", "train": "train", "model": "model",
            "predict": "predict", "explain": "explain", "bench": "bench", "run": "run",
            "verify": "run", "experiments": "run"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with only ``command``'s module registered (a run of
    one command does not import the others, nor their dependencies)."""
    parser = argparse.ArgumentParser(
        prog="percepiano",
        description="Perceptual evaluation of piano performance on PercePiano: data, splits, "
                    "noise ceiling, baselines, rendering, features, models and experiments.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = dict.fromkeys(COMMANDS.values()) if command is None else [COMMANDS[command]]
    for name in modules:
        importlib.import_module(f"percepiano.cli.{name}").register(sub)
    return parser


def default_cache() -> None:
    """Outside a checkout of this project the command line caches (renders, descriptors, the
    final models) in the user's cache folder, ``$XDG_CACHE_HOME/percepiano`` or
    ``~/.cache/percepiano``, rather than in whatever folder it was started from."""
    from percepiano import config

    if os.environ.get("PERCEPIANO_CACHE"):
        return
    pyproject = config.project_root() / "pyproject.toml"
    if pyproject.is_file() and 'name = "percepiano"' in pyproject.read_text():
        return
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    os.environ["PERCEPIANO_CACHE"] = str(Path(base) / "percepiano")


def quiet_imports() -> None:
    """Import the FluidSynth binding with its stdout discarded: some versions print where they
    found the library, which would corrupt `--json` output and break a closed pipe."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import fluidsynth  # noqa: F401
    except Exception:  # noqa: BLE001 - a missing library is reported where it is needed
        pass


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader (`| head`) left: stop quietly, as a Unix tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_imports()
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    default_cache()
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError) as e:  # DataError and io.WriteError are UserErrors
        print(f"percepiano {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left: ``main`` ends quietly
        raise
    except OSError as e:  # a file or folder the system refused: named, in one line
        where = f"{e.filename}: " if e.filename else ""
        print(f"percepiano {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("percepiano: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
