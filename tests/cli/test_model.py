"""`percepiano model`'s cache keys, and the scorer's independence from the experiments' stored
results: the notes model is keyed by the package's frozen file, and scoring never imports the
results store."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from percepiano.analysis import notes_route
from percepiano.cli import model as model_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_notes_model_is_keyed_by_the_frozen_file_not_the_results(fresh_cache, tmp_path,
                                                                      monkeypatch):
    key = model_cli.model_key("notes")
    monkeypatch.setenv("PERCEPIANO_RESULTS", str(tmp_path / "no-results"))
    assert model_cli.model_key("notes") == key
    midi = model_cli.model_key("midi")
    monkeypatch.setattr(notes_route, "digest", lambda: "0" * 16)
    assert model_cli.model_key("notes") != key
    assert model_cli.model_key("midi") == midi != key


# scores a MIDI take with every command that scores, then asks for the notes model's key, and
# prints the exit codes and the modules of the results store that were imported
SCORE = textwrap.dedent("""
    import contextlib, io, json, sys
    from percepiano.cli.main import main
    codes = []
    for argv in (["predict", sys.argv[1], "--json"], ["explain", sys.argv[1], "--json"],
                 ["model", "info", "--kind", "midi"]):
        with contextlib.redirect_stdout(io.StringIO()):
            codes.append(main(argv))
    from percepiano.cli import model
    model.model_dir("notes")
    print(json.dumps({"codes": codes, "imported": sorted(
        m for m in sys.modules if m.startswith("percepiano.experiments"))}))
""")


def test_scoring_never_reads_the_results_store(built_cache, tmp_path, ds):
    cache = built_cache("midi")
    empty = tmp_path / "no-results"
    empty.mkdir()
    env = dict(os.environ, PERCEPIANO_CACHE=str(cache), PERCEPIANO_RESULTS=str(empty))
    take = ds.segments.loc[ds.names[0], "midi_path"]
    run = subprocess.run([sys.executable, "-c", SCORE, str(take)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "building" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-3000:]
    out = json.loads(run.stdout.splitlines()[-1])
    assert out == {"codes": [0, 0, 0], "imported": []}
    assert not list(empty.iterdir())
