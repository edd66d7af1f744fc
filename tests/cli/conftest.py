"""What the command-line tests share: an empty model cache, and MIDI files every command that
reads performances must refuse."""

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
