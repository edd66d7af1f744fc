"""Run-wide settings read in one place: the profile switch and the cache directory.

``PERCEPIANO_PROFILE=smoke|quick|full`` shrinks data, epochs, folds and seeds:
``smoke`` for tests and CI (seconds), ``quick`` for a reader on a 2-core CPU (minutes),
``full`` for the published numbers (a GPU, or patience). Results of different profiles are
stored apart and never mixed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("smoke", "quick", "full")
DEFAULT_PROFILE = "quick"


def profile(name: str | None = None) -> str:
    """The active profile: ``name`` if given, else ``$PERCEPIANO_PROFILE``, else ``quick``."""
    name = name or os.environ.get("PERCEPIANO_PROFILE") or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return name


def project_root() -> Path:
    """The nearest folder at or above the working directory holding ``pyproject.toml`` (so a
    chapter executed inside ``book/`` sees the same files as the command line), else the
    working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def cache_dir() -> Path:
    """Where derived files (audio, spectrograms, features, checkpoints) go; never committed:
    ``$PERCEPIANO_CACHE``, default ``.cache/percepiano`` in the project root."""
    env = os.environ.get("PERCEPIANO_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return project_root() / ".cache" / "percepiano"


def results_dir() -> Path:
    """Where experiment results are stored: ``$PERCEPIANO_RESULTS``, default ``results`` in the
    project root."""
    env = os.environ.get("PERCEPIANO_RESULTS")
    if env:
        return Path(env).expanduser().resolve()
    return project_root() / "results"


@dataclass(frozen=True)
class Settings:
    """Sizes that depend on the profile; every experiment derives its configuration from these."""

    profile: str
    # cross-validation folds for the random/piece/performer splits: 4 keeps a test fold of ~300
    # segments (about 5 pieces' excerpts) while training on three quarters; smoke uses 2 to halve
    # the work. The composer split always has 2 folds (PercePiano has two composers).
    folds: int
    # seeds of the fold assignment (and of any model): three, so every comparison has a spread
    # across seeds and paired tests have folds x seeds to pair; smoke checks the code with one
    seeds: tuple[int, ...]
    # random rater splits averaged in the split-half reliability: each split is noisy (it depends
    # on which raters fall together), the average over many is not; 10 only checks the code
    ceiling_splits: int
    # random draws of k ratings per segment averaged in the ICC
    icc_draws: int
    # descriptor sets of the random-forest baselines: audio descriptors need every segment
    # rendered with FluidSynth (minutes on a CPU), so the smoke profile uses the MIDI ones only
    forest_features: tuple[str, ...]
    # at most this many segments (an even spread over the sorted names) for experiments that
    # compute descriptors or render audio (None: all of them); smoke keeps a CI run in seconds
    max_segments: int | None
    # cluster-bootstrap resamples (over music groups) behind every confidence interval: 1000
    # keeps a 95 % percentile interval's end points stable to about 0.005 R²
    n_boot: int


_SETTINGS = {
    "smoke": {"folds": 2, "seeds": (0,), "ceiling_splits": 10, "icc_draws": 1,
              "forest_features": ("midi",), "max_segments": 120, "n_boot": 50},
    "quick": {"folds": 4, "seeds": (0, 1, 2), "ceiling_splits": 200, "icc_draws": 5,
              "forest_features": ("midi", "audio", "both"), "max_segments": None, "n_boot": 1000},
    "full": {"folds": 4, "seeds": (0, 1, 2, 3, 4), "ceiling_splits": 1000, "icc_draws": 20,
             "forest_features": ("midi", "audio", "both"), "max_segments": None, "n_boot": 2000},
}


def settings(name: str | None = None) -> Settings:
    """The ``Settings`` of profile ``name`` (default: the active profile)."""
    name = profile(name)
    return Settings(profile=name, **_SETTINGS[name])
