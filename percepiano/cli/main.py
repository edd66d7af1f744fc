"""The ``percepiano`` command.

Each command group lives in a module of ``percepiano.cli`` exposing ``register(subparsers)``;
this file only lists them (in the order of the data flow), parses, and turns known errors into
one line on stderr with a non-zero exit (never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from percepiano.cli import (
    baselines,
    bench,
    ceiling,
    data,
    features,
    model,
    predict,
    render,
    run,
    splits,
    train,
)
from percepiano.errors import UserError

# command groups in the order `percepiano --help` lists them
COMMANDS = (data, splits, ceiling, baselines, render, features, train, model, predict, bench, run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="percepiano",
        description="Perceptual evaluation of piano performance on PercePiano: data, splits, "
                    "noise ceiling, baselines, rendering, features, models and experiments.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    default_cache()
    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, FileNotFoundError) as e:  # DataError is a UserError
        print(f"percepiano {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("percepiano: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
