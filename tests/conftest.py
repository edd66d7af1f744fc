"""Shared fixtures: the real dataset (via PERCEPIANO_DATA; ``ds`` its development part, ``full``
every segment's metadata), strict JAX, PRNG keys; and the Hypothesis profile: derandomized under
``CI`` (the same examples every run, so a run cannot fail by the luck of a draw), randomly
exploring elsewhere (``HYPOTHESIS_PROFILE=ci`` to reproduce CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("PERCEPIANO_PROFILE", "smoke")

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI")
                                                               else "dev"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The PercePiano folder; tests that need it skip only when no location is configured."""
    from percepiano.data import dataset

    if not os.environ.get("PERCEPIANO_DATA") and not Path("data/PercePiano").is_dir():
        pytest.skip("PercePiano data not configured (set PERCEPIANO_DATA)")
    return dataset.locate()


@pytest.fixture(scope="session")
def ds(data_root):
    """The development part: what experiments see, labels and ratings included."""
    from percepiano.data import dataset

    return dataset.load(data_root)


@pytest.fixture(scope="session")
def full(data_root):
    """Every segment's metadata (``load(part="all")`` without the key): the development
    segments' labels and ratings only, the final exam's stay locked."""
    from percepiano.data import dataset

    return dataset.load(data_root, part="all")


@pytest.fixture(autouse=True, scope="session")
def _strict_jax():
    """Make silent rank promotion an error, as the style guide asks."""
    try:
        import jax
    except ImportError:  # pragma: no cover
        yield
        return
    jax.config.update("jax_numpy_rank_promotion", "raise")
    yield


@pytest.fixture
def key():
    import jax

    return jax.random.key(0)


@pytest.fixture
def keys(key):
    """Four independent PRNG keys split from ``key``."""
    import jax

    return jax.random.split(key, 4)


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory) -> Path:
    """The results root this session's smoke experiments are stored under (a fresh folder)."""
    return tmp_path_factory.mktemp("smoke-results")


@pytest.fixture(scope="session")
def smoke_run(smoke_root, data_root):
    """``smoke_run(name)``: the ``store.Results`` of experiment ``name`` in the smoke profile,
    run once per session into ``smoke_root`` (with ``PERCEPIANO_RESULTS`` pointing there while
    it runs, so an experiment that reads another's results finds them) and read back after.
    The experiment tests, the comparison with the committed ``results/smoke/`` and the smoke
    book all read these, so each experiment runs once however many tests read it."""
    from percepiano.experiments import store

    def run(name: str):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PERCEPIANO_RESULTS", str(smoke_root))
            if (res := store.find(name, "smoke", smoke_root)) is not None:
                return res
            store.run(name, "smoke", smoke_root)
            return store.find(name, "smoke", smoke_root)

    return run
