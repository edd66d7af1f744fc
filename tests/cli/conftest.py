"""What the command-line tests share: an empty model cache."""

import pytest

from percepiano import config


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty model cache that shares the rendering and descriptor caches (they are not the
    test)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for shared in ("features", "audio"):
        (config.cache_dir() / shared).mkdir(parents=True, exist_ok=True)
        (cache / shared).symlink_to(config.cache_dir() / shared, target_is_directory=True)
    monkeypatch.setenv("PERCEPIANO_CACHE", str(cache))
    return cache
