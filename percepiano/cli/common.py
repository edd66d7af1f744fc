"""What every command shares: the ``--data`` option and printing a table or JSON."""

from __future__ import annotations

import argparse
import json


def add_data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", default=None,
                   help="PercePiano checkout (default: $PERCEPIANO_DATA, else data/PercePiano)")


def emit(obj, as_json: bool, table: str) -> None:
    """Print ``obj`` as JSON (``--json``) or the human-readable ``table``."""
    print(json.dumps(obj, indent=2, default=float) if as_json else table)
