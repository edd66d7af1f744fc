import os
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from percepiano.audio import render
from percepiano.errors import UserError

SF = "timgm6mb"  # ships with pretty_midi, so these tests never depend on a system soundfont
SR = 16000


def one_note(pedal: bool) -> pretty_midi.PrettyMIDI:
    """Middle C held for 0.2 s; with ``pedal`` the sustain pedal is down from 0 s to 1.5 s."""
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=0.0, end=0.2))
    if pedal:
        piano.control_changes += [pretty_midi.ControlChange(64, 127, 0.0),
                                  pretty_midi.ControlChange(64, 0, 1.5)]
    else:  # an inert controller so both files end at 1.5 s
        piano.control_changes.append(pretty_midi.ControlChange(10, 64, 1.5))
    pm.instruments.append(piano)
    return pm


def rms(y, t0, t1):
    """RMS over [t0, t1) seconds; trimmed trailing silence counts as zeros."""
    seg = np.zeros(int(t1 * SR) - int(t0 * SR), np.float64)
    part = y[int(t0 * SR):int(t1 * SR)]
    seg[: len(part)] = part
    return float(np.sqrt(np.mean(seg ** 2)))


def test_render_shape_dtype_and_tail():
    y = render.render_midi(one_note(False), soundfont=SF, sr=SR)
    assert y.dtype == np.float32 and y.ndim == 1
    assert 0.2 * SR <= len(y) <= (1.5 + 1.0) * SR + render.BLOCK
    assert np.isfinite(y).all() and 0.01 < np.abs(y).max() < 1.0
    assert rms(y, 0.0, 0.2) > 1e-3


def test_sustain_pedal_keeps_released_note_sounding():
    dry = render.render_midi(one_note(False), soundfont=SF, sr=SR)
    wet = render.render_midi(one_note(True), soundfont=SF, sr=SR)
    # identical while the key is held, then the pedalled note keeps ringing
    assert np.array_equal(dry[: int(0.19 * SR)], wet[: int(0.19 * SR)])
    assert rms(wet, 0.8, 1.4) > 1e-3
    assert rms(wet, 0.8, 1.4) > 10 * rms(dry, 0.8, 1.4)
    assert len(dry) < 1.0 * SR < 1.5 * SR < len(wet)  # trailing silence is trimmed


def test_same_input_same_bits_and_sample_rate():
    a = render.render_midi(one_note(True), soundfont=SF, sr=SR)
    b = render.render_midi(render.midi_bytes(one_note(True)), soundfont=SF, sr=SR)
    assert np.array_equal(a, b)
    c = render.render_midi(one_note(True), soundfont=SF, sr=22050)
    assert abs(len(c) / 22050 - len(a) / SR) < 0.05


def test_soundfont_registry(tmp_path):
    assert render.soundfont_path("timgm6mb").name == "TimGM6mb.sf2"
    with pytest.raises(UserError, match="unknown soundfont 'steinway'"):
        render.soundfont_path("steinway")
    with pytest.raises(UserError, match="apt-get install fluid-soundfont-gm"):
        render.soundfont_path(tmp_path / "missing.sf2")
    p = render.soundfont_path("timgm6mb")
    assert render.soundfont_digest(p) == render.soundfont_digest(p)
    assert len(render.soundfont_digest(p)) == 64


@pytest.mark.skipif(not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").is_file(),
                    reason="FluidR3 soundfont not installed")
def test_fluidr3_differs_from_timgm6mb():
    a = render.render_midi(one_note(False), soundfont="fluidr3", sr=SR)
    b = render.render_midi(one_note(False), soundfont="timgm6mb", sr=SR)
    assert rms(a, 0, 0.2) > 1e-3 and not np.array_equal(a[: len(b)], b[: len(a)])


def test_bad_files_give_one_clear_error(tmp_path):
    text = tmp_path / "notes.mid"
    text.write_text("not a midi file")
    with pytest.raises(UserError, match="not a MIDI file"):
        render.render_midi(text, soundfont=SF)
    whole = render.midi_bytes(one_note(True))
    trunc = tmp_path / "trunc.mid"
    trunc.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        render.render_midi(trunc, soundfont=SF)
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(program=0))
    with pytest.raises(UserError, match="has no notes"):
        render.render_midi(empty, soundfont=SF)
    with pytest.raises(UserError, match="cannot read MIDI file"):
        render.render_midi(tmp_path / "absent.mid", soundfont=SF)
    with pytest.raises(UserError, match="sample rate"):
        render.render_midi(one_note(False), soundfont=SF, sr=100)


def test_missing_fluidsynth_library(monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import now raises ImportError
    with pytest.raises(UserError, match="FluidSynth library is not installed"):
        render.render_midi(one_note(False), soundfont=SF)


def test_cache_is_idempotent_and_atomic(tmp_path, monkeypatch):
    midi = tmp_path / "a.mid"
    one_note(True).write(str(midi))
    p1 = render.render_cached(midi, soundfont=SF, cache=tmp_path / "c")
    stamp = p1.stat().st_mtime_ns
    p2 = render.render_cached(midi, soundfont=SF, cache=tmp_path / "c")
    assert p1 == p2 and p2.stat().st_mtime_ns == stamp  # second call is a cache hit
    assert np.array_equal(render.load_audio(p1), render.render_midi(midi, soundfont=SF))
    # a different parameter is a different address
    p3 = render.render_cached(midi, soundfont=SF, sr=22050, cache=tmp_path / "c")
    assert p3 != p1
    # a crash while writing leaves neither a partial file nor a temp file behind
    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(render.np, "save", boom)
    with pytest.raises(RuntimeError):
        render.render_cached(midi, soundfont=SF, sr=24000, cache=tmp_path / "c")
    files = sorted(p.name for p in (tmp_path / "c").rglob("*") if p.is_file())
    assert files == sorted([p1.name, p3.name])


def test_parallel_render_is_bit_identical_and_skips_bad_files(ds, tmp_path):
    names = list(ds.segments.index[[0, 600]])
    files = {n: ds.segments.loc[n, "midi_path"] for n in names}
    syn = tmp_path / "syn.mid"
    one_note(True).write(str(syn))
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00")
    files.update({"synthetic": str(syn), "bad": str(bad)})
    one = render.render_files(files, soundfont=SF, workers=1, progress=False,
                              cache=tmp_path / "w1")
    two = render.render_files(dict(reversed(files.items())), soundfont=SF, workers=2,
                              progress=False, cache=tmp_path / "w2")
    for rep in (one, two):
        assert set(rep.paths) == set(names) | {"synthetic"}
        assert list(rep.skipped) == ["bad"] and "corrupt or truncated" in rep.skipped["bad"]
        assert rep.rendered == 3 and rep.cached == 0
    for n in one.paths:
        assert one.paths[n].name == two.paths[n].name
        assert np.array_equal(render.load_audio(one.paths[n]), render.load_audio(two.paths[n]))
    again = render.render_files(files, soundfont=SF, workers=2, progress=False,
                                cache=tmp_path / "w1")
    assert again.rendered == 0 and again.cached == 3
    assert not [p for p in (tmp_path / "w1").rglob("*.tmp")]
    y = render.load_audio(one.paths[names[0]])
    assert y.dtype == np.float32 and len(y) > SR and os.path.getsize(one.paths[names[0]]) > 0


def test_cli_renders_one_file_and_reports_bad_input(tmp_path, capsys):
    import soundfile

    from percepiano.cli.main import main

    midi = tmp_path / "phrase.mid"
    one_note(True).write(str(midi))
    out = tmp_path / "out" / "phrase.wav"
    assert main(["render", str(midi), "-o", str(out), "--soundfont", SF]) == 0
    y, sr = soundfile.read(out, dtype="float32")
    assert sr == SR and np.array_equal(y, render.render_midi(midi, soundfont=SF))
    assert "wrote" in capsys.readouterr().out
    bad = tmp_path / "bad.mid"
    bad.write_text("hello")
    assert main(["render", str(bad), "-o", str(tmp_path / "x.wav"), "--soundfont", SF]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a MIDI file" in err
    assert main(["render", str(midi), "--soundfont", "nosuchfont"]) == 2
    assert "unknown soundfont" in capsys.readouterr().err


def test_cli_renders_the_dataset_with_a_summary(ds, tmp_path, monkeypatch, capsys):
    import dataclasses
    import json

    from percepiano.cli import render as render_cmd
    from percepiano.cli.main import main

    small = dataclasses.replace(ds, segments=ds.segments.iloc[:2])
    monkeypatch.setattr(render_cmd.dataset, "load", lambda data=None, part="all": small)
    monkeypatch.setenv("PERCEPIANO_CACHE", str(tmp_path))
    assert main(["render", "--soundfont", SF, "--workers", "1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["rendered"], info["cached"], info["skipped"]) == (2, 0, {})
    assert main(["render", "--soundfont", SF, "--workers", "1"]) == 0
    assert "0 rendered, 2 already cached, 0 skipped" in capsys.readouterr().out


def test_worker_pools_spawn_once_a_threaded_library_is_loaded(monkeypatch):
    """A forked child of a process running JAX's or PyTorch's threads can wait forever on a lock
    one of them held (seen: transkun's PyTorch, then a descriptor pool); such pools spawn."""
    import sys
    import types

    for lib in render.THREADED:
        with monkeypatch.context() as m:
            for other in render.THREADED:
                m.delitem(sys.modules, other, raising=False)
            if sys.platform == "linux":
                assert render.mp_context().get_start_method() == "fork"
            m.setitem(sys.modules, lib, types.ModuleType(lib))
            assert render.mp_context().get_start_method() == "spawn"


def test_the_fluidsynth_binding_prints_nothing_when_the_package_loads_it():
    """pyfluidsynth prints where it found the library on stdout when ``CI`` is set: on a book
    page, in `--json` output, before a machine-read line."""
    import subprocess

    code = "from percepiano.audio import render; render._load_fluidsynth(); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, CI="true"), check=True).stdout
    assert out == "ok\n"
