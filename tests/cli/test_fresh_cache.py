"""Commands that render or build, run once from an empty cache in the smoke profile: they exit 0
without a traceback. The speed benchmark's cross-validation runs in a pool's worker, which may
not start worker processes of its own, so what it reads has to be rendered before it starts."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# the `bench` experiment of the smoke profile, without the step timings and on a few excerpts:
# with an empty cache, rendering more than one segment starts a pool
BENCH_CV = textwrap.dedent("""
    from percepiano.experiments import bench, store
    cfg = store.plan("bench", "smoke")[0]
    cfg = {**cfg, "presets": [], "cv": {**cfg["cv"], "max_segments": 60}}
    out = bench.bench(cfg)
    print("segments", out["cv"]["n_segments"])
""")


def _run(argv: list[str], cache: Path, data: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``argv`` in a fresh Python with an empty cache ``cache``, the smoke profile, and results
    written under ``cache`` (never into the repository)."""
    env = dict(os.environ, PERCEPIANO_CACHE=str(cache), PERCEPIANO_PROFILE="smoke",
               PERCEPIANO_DATA=str(data), PERCEPIANO_RESULTS=str(cache / "results"))
    return subprocess.run([sys.executable, *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def _ok(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


@pytest.mark.slow
def test_bench_cross_validation_from_an_empty_cache(tmp_path, data_root):
    """The experiment renders the segments, then its measured worker cross-validates them."""
    cache = tmp_path / "cache"
    run = _run(["-c", BENCH_CV], cache, data_root, tmp_path)
    _ok(run)
    n = int(run.stdout.split()[-1])
    assert n > 0 and len(list((cache / "audio").rglob("*.npy"))) == n
    assert len(list((cache / "mel").rglob("*.npy"))) == n


def test_render_one_file_from_an_empty_cache(tmp_path, data_root):
    midi = min((data_root / "virtuoso").rglob("*.mid"))
    run = _run(["-m", "percepiano", "render", str(midi), "-o", str(tmp_path / "one.wav")],
               tmp_path / "cache", data_root, tmp_path)
    _ok(run)
    assert (tmp_path / "one.wav").stat().st_size > 0
