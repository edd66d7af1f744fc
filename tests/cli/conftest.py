"""What the command-line tests share: an empty model cache, a cache holding small models built
once per session, and MIDI files every command that reads performances must refuse."""

import pretty_midi
import pytest

from percepiano import config
from tests.audio.test_input import write_hanging_note


def bad_midi_files(folder) -> dict[str, str]:
    """Write MIDI (and other) files a scoring command must refuse into ``folder``:
    {file name: what its one-line refusal says}; ``missing.mid`` is not written."""
    nothing = pretty_midi.PrettyMIDI()
    nothing.instruments.append(pretty_midi.Instrument(program=0))
    nothing.write(str(folder / "no_notes.mid"))
    write_hanging_note(folder / "hanging.mid")
    (folder / "notes.txt").write_text("")
    return {"no_notes.mid": "has no notes", "hanging.mid": "never ends",
            "notes.txt": "unknown file type", "missing.mid": "no such file or folder"}


def _share_caches(cache):
    """``cache`` created, sharing the rendering and descriptor caches (they are not the test)."""
    cache.mkdir(parents=True)
    for shared in ("features", "audio"):
        (config.cache_dir() / shared).mkdir(parents=True, exist_ok=True)
        (cache / shared).symlink_to(config.cache_dir() / shared, target_is_directory=True)
    return cache


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty model cache that shares the rendering and descriptor caches."""
    cache = _share_caches(tmp_path / "cache")
    monkeypatch.setenv("PERCEPIANO_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory):
    return _share_caches(tmp_path_factory.mktemp("models") / "cache")


SMALL = 120  # development segments a small model stands in for the final one with


@pytest.fixture
def built_cache(_session_cache, monkeypatch, data_root):
    """The session's model cache made the active one; calling it with kinds (``"midi"``,
    ``"audio"``) builds, once per session, a small smoke-profile model of each there (``SMALL``
    development segments, standing in for the final one) and returns the cache folder. For
    tests that need a built model, not the building."""
    monkeypatch.setenv("PERCEPIANO_CACHE", str(_session_cache))

    def need(*kinds: str):
        from percepiano.analysis import final
        from percepiano.cli import model as model_cli
        from percepiano.data import dataset
        from percepiano.models import forest

        for kind in kinds:
            folder = model_cli.model_dir(kind)
            if (folder / "meta.json").is_file():
                continue
            dev = dataset.subset(dataset.load(data_root), SMALL)
            m = final.build(dev, kind, cfg=forest.preset("smoke"), progress=False)
            m.meta["id"] = folder.name
            m.save(folder)
        return _session_cache

    return need
