"""MIDI -> audio with FluidSynth, deterministic and content-addressed.

A performance MIDI is played into a FluidSynth synthesiser (through pyfluidsynth) event by event in
file order: note on/off, every control change (sustain pedal CC64, soft pedal CC67, volume ...),
program changes and pitch bends, so pedalling sounds as it was played. A release tail is rendered
after the last event and trailing silence is trimmed by one fixed rule. Reverb and chorus are off.

Determinism. FluidSynth applies events at the start of its 64-sample blocks, and a synthesiser
reused across files keeps order-dependent state (voice slots, block phase). So event times are
quantised to whole blocks (4 ms at 16 kHz, FluidSynth's own resolution) and every file gets a fresh
synthesiser that borrows the soundfont loaded once per process; samples are read as float32
(``fluid_synth_write_float`` rather than ``get_samples``' int16, which adds dither).
The same MIDI bytes, soundfont and parameters give bit-identical audio whatever the worker count
or order.

Cache. Audio is stored as float32 ``.npy`` under ``cache_dir()/audio/`` named by the SHA-256 of
the MIDI bytes, the soundfont bytes and the parameters; writes are atomic (temp file + rename).
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import io
import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from percepiano import config as _config
from percepiano.errors import UserError
from percepiano.io import atomic_path

RENDER_VERSION = 1  # bump when the rendering rule changes, so old cache entries are not reused
BLOCK = 64  # FluidSynth's internal block (FLUID_BUFSIZE): events take effect on block starts
INSTALL_HINT = ("install one with `sudo apt-get install fluid-soundfont-gm` (Debian/Ubuntu) or "
                "`conda install -c conda-forge fluidsynth` and put FluidR3_GM.sf2 in "
                "$CONDA_PREFIX/share/soundfonts, or pass a path to any .sf2/.sf3 file")

# FluidR3 is the default: its acoustic grand (a 141 MB General MIDI set) is a stereo-sampled
# Yamaha grand, where TimGM6mb fits all 128 instruments in 5 MB with a mono piano. It costs little:
# about 320x real time per core at 16 kHz against 410x for TimGM6mb (~65 vs ~50 CPU-seconds for
# the whole dataset), because the font is loaded once per process and shared.
DEFAULT_SOUNDFONT = "fluidr3"


def _soundfont_candidates(name: str) -> list[Path]:
    if name == "fluidr3":
        out = [Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")]
        if os.environ.get("CONDA_PREFIX"):
            out.append(Path(os.environ["CONDA_PREFIX"]) / "share/soundfonts/FluidR3_GM.sf2")
        return out
    if name == "timgm6mb":
        import pretty_midi
        return [Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"]
    return []


SOUNDFONTS = ("fluidr3", "timgm6mb")


def soundfont_path(soundfont: str | os.PathLike = DEFAULT_SOUNDFONT) -> Path:
    """Resolve a registered soundfont name or a .sf2/.sf3 path; UserError if it is not there."""
    name = str(soundfont)
    if name in SOUNDFONTS:
        for p in _soundfont_candidates(name):
            if p.is_file():
                return p.resolve()
        raise UserError(f"soundfont {name!r} not found (looked in "
                        f"{', '.join(map(str, _soundfont_candidates(name)))}); {INSTALL_HINT}")
    p = Path(name).expanduser()
    if p.suffix.lower() not in (".sf2", ".sf3"):
        raise UserError(f"unknown soundfont {name!r}; choose from {', '.join(SOUNDFONTS)} "
                        "or give a .sf2/.sf3 path")
    if not p.is_file():
        raise UserError(f"soundfont file {p} not found; {INSTALL_HINT}")
    return p.resolve()


_DIGESTS: dict[tuple, str] = {}


def soundfont_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a soundfont's bytes, computed once per (path, mtime, size)."""
    p = Path(path)
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


@dataclass(frozen=True)
class RenderConfig:
    """How MIDI becomes audio. Every field is part of the cache key."""

    sr: int = 16000  # the AST convention; piano energy above 8 kHz matters little to ratings
    gain: float = 0.5  # float output never clips; 0.5 keeps dense pedalled chords well below 1.0
    tail_s: float = 1.0  # release tail after the last event: lets pedalled notes decay
    trim_db: float = -80.0  # trailing samples quieter than this (dBFS) are cut after the tail

    def key_dict(self) -> dict:
        return {"version": RENDER_VERSION, **dataclasses.asdict(self)}


def _load_fluidsynth():
    import contextlib
    import io

    try:  # pyfluidsynth prints where it found the library on stdout under CI=...: not ours
        with contextlib.redirect_stdout(io.StringIO()):
            import fluidsynth
    except (ImportError, OSError) as e:
        raise UserError(f"the FluidSynth library is not installed ({e}); install it with "
                        "`sudo apt-get install fluidsynth` or `conda install -c conda-forge "
                        "fluidsynth`") from None
    lib = fluidsynth._fl
    if not getattr(lib, "_percepiano_ready", False):
        vp, i = ctypes.c_void_p, ctypes.c_int
        lib.fluid_synth_write_float.argtypes = [vp, i, vp, i, i, vp, i, i]
        lib.fluid_synth_get_sfont_by_id.argtypes = [vp, i]
        lib.fluid_synth_get_sfont_by_id.restype = vp
        lib.fluid_synth_add_sfont.argtypes = [vp, vp]
        lib.fluid_synth_add_sfont.restype = i
        lib.fluid_synth_remove_sfont.argtypes = [vp, vp]
        lib.fluid_synth_remove_sfont.restype = i
        for level in (2, 3, 4):  # FluidSynth's warnings, info and debug lines: not for our users
            lib.fluid_set_log_function(level, None, None)
        lib._percepiano_ready = True
    return fluidsynth


_FONTS: dict[tuple, tuple] = {}  # (path, sr) -> (owner synth, fluid_sfont_t*), one per process


def _shared_font(fluidsynth, sf_path: Path, sr: int):
    """The soundfont loaded once per process by an owner synth; renderers borrow it.

    Loading FluidR3 takes ~0.6 s; borrowing it costs nothing, and a borrowing synth is fresh, so
    no state passes from one file to the next.
    """
    key = (str(sf_path), sr)
    if key not in _FONTS:
        owner = fluidsynth.Synth(samplerate=float(sr), channels=16)
        sfid = owner.sfload(str(sf_path))
        if sfid < 0:
            owner.delete()
            raise UserError(f"FluidSynth could not load soundfont {sf_path}; {INSTALL_HINT}")
        _FONTS[key] = (owner, fluidsynth._fl.fluid_synth_get_sfont_by_id(owner.synth, sfid))
    return _FONTS[key][1]


def midi_bytes(midi) -> bytes:
    """The bytes of a MIDI given as a path, bytes, or a ``pretty_midi.PrettyMIDI``."""
    if isinstance(midi, (bytes, bytearray)):
        return bytes(midi)
    if isinstance(midi, (str, os.PathLike)):
        try:
            return Path(midi).read_bytes()
        except OSError as e:
            raise UserError(f"cannot read MIDI file {midi}: {e.strerror}") from None
    if hasattr(midi, "write"):  # pretty_midi.PrettyMIDI
        buf = io.BytesIO()
        midi.write(buf)
        return buf.getvalue()
    raise TypeError(f"expected a MIDI path, bytes or PrettyMIDI, got {type(midi).__name__}")


def midi_events(data: bytes, label: str = "MIDI") -> list[tuple[float, object]]:
    """(time in seconds, mido message) of every channel message, in file order.

    UserError for a file that is not MIDI, is corrupt or truncated, or has no notes.
    """
    import mido

    if not data.startswith(b"MThd"):
        raise UserError(f"{label} is not a MIDI file (no MThd header)")
    try:
        mf = mido.MidiFile(file=io.BytesIO(data))
        events, t = [], 0.0
        for msg in mf:  # merged tracks, tempo map applied, delta times in seconds
            t += msg.time
            if not msg.is_meta and msg.type != "sysex":
                events.append((t, msg))
    except Exception as e:  # mido raises OSError, EOFError, ValueError, KeyError ... on bad bytes
        raise UserError(f"{label} is corrupt or truncated ({type(e).__name__}: {e})") from None
    if not any(m.type == "note_on" and m.velocity > 0 for _, m in events):
        raise UserError(f"{label} has no notes")
    return events


def _synthesise(events, sf_path: Path, cfg: RenderConfig) -> np.ndarray:
    fluidsynth = _load_fluidsynth()
    lib = fluidsynth._fl
    sfont = _shared_font(fluidsynth, sf_path, cfg.sr)
    synth = fluidsynth.Synth(gain=cfg.gain, samplerate=float(cfg.sr), channels=16, **{
        "synth.reverb.active": 0, "synth.chorus.active": 0})
    sfid = lib.fluid_synth_add_sfont(synth.synth, sfont)
    try:
        # General MIDI defaults (piano; drums on channel 10) for the channels the file plays,
        # even when it sends no program change
        for ch in sorted({m.channel for _, m in events if m.type == "note_on"}):
            synth.program_select(ch, sfid, 128 if ch == 9 else 0, 0)
        write = lib.fluid_synth_write_float
        total = int(np.ceil((events[-1][0] + cfg.tail_s) * cfg.sr / BLOCK)) * BLOCK
        out = np.zeros((total, 2), np.float32)
        pos = last_off = 0
        for t, msg in events:
            target = min(int(round(t * cfg.sr / BLOCK)) * BLOCK, total)
            if target > pos:
                view = out[pos:]
                write(synth.synth, target - pos, view.ctypes.data, 0, 2, view.ctypes.data, 1, 2)
                pos = target
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                synth.noteon(msg.channel, msg.note, msg.velocity)
            elif kind in ("note_on", "note_off"):
                synth.noteoff(msg.channel, msg.note)
                last_off = target
            elif kind == "control_change":
                synth.cc(msg.channel, msg.control, msg.value)
            elif kind == "program_change":
                synth.program_change(msg.channel, msg.program)
            elif kind == "pitchwheel":
                synth.pitch_bend(msg.channel, msg.pitch)
        if total > pos:
            view = out[pos:]
            write(synth.synth, total - pos, view.ctypes.data, 0, 2, view.ctypes.data, 1, 2)
    finally:
        lib.fluid_synth_remove_sfont(synth.synth, sfont)  # borrowed: the owner frees it
        synth.delete()
    y = (out[:, 0] + out[:, 1]) * np.float32(0.5)
    loud = np.flatnonzero(np.abs(y) > 10 ** (cfg.trim_db / 20))
    end = max(last_off, int(loud[-1]) + 1 if loud.size else 0)
    return np.ascontiguousarray(y[:max(end, 1)])


def render_midi(midi, soundfont: str | os.PathLike = DEFAULT_SOUNDFONT, sr: int | None = None,
                config: RenderConfig | None = None) -> np.ndarray:
    """Render one MIDI (path, bytes or PrettyMIDI) to mono float32 audio at ``sr``; no cache."""
    cfg = _resolve_config(config, sr)
    sf = soundfont_path(soundfont)
    label = str(midi) if isinstance(midi, (str, os.PathLike)) else "MIDI data"
    return _synthesise(midi_events(midi_bytes(midi), label), sf, cfg)


def _resolve_config(config: RenderConfig | None, sr: int | None) -> RenderConfig:
    cfg = config or RenderConfig()
    if sr is not None:
        cfg = dataclasses.replace(cfg, sr=int(sr))
    if cfg.sr < 8000 or cfg.sr > 96000:
        raise UserError(f"sample rate {cfg.sr} Hz is out of range; use 8000-96000 (default 16000)")
    return cfg


def audio_key(data: bytes, sf_digest: str, cfg: RenderConfig) -> str:
    """Content address of a rendering: SHA-256 of MIDI bytes, soundfont digest and parameters."""
    h = hashlib.sha256()
    h.update(hashlib.sha256(data).digest())
    h.update(bytes.fromhex(sf_digest))
    h.update(json.dumps(cfg.key_dict(), sort_keys=True).encode())
    return h.hexdigest()


def audio_dir(cache: str | os.PathLike | None = None) -> Path:
    return Path(cache) if cache is not None else _config.cache_dir() / "audio"


def cache_path(key: str, cache: str | os.PathLike | None = None) -> Path:
    return audio_dir(cache) / key[:2] / f"{key}.npy"


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` so readers see either nothing or the whole file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)


def load_audio(path: str | os.PathLike) -> np.ndarray:
    """A cached rendering as float32 mono."""
    return np.load(path, allow_pickle=False)


def render_cached(midi, soundfont: str | os.PathLike = DEFAULT_SOUNDFONT, sr: int | None = None,
                  config: RenderConfig | None = None,
                  cache: str | os.PathLike | None = None) -> Path:
    """Render ``midi`` unless its content address is already cached; the cached file's path."""
    cfg = _resolve_config(config, sr)
    sf = soundfont_path(soundfont)
    data = midi_bytes(midi)
    path = cache_path(audio_key(data, soundfont_digest(sf), cfg), cache)
    if not path.exists():
        label = str(midi) if isinstance(midi, (str, os.PathLike)) else "MIDI data"
        save_npy_atomic(path, _synthesise(midi_events(data, label), sf, cfg))
    return path


def _job(task):
    """Worker: render one file into its cache path; never raises for a bad file."""
    name, midi_path, path, sf, cfg = task
    try:
        data = midi_bytes(midi_path)
        save_npy_atomic(Path(path), _synthesise(midi_events(data, str(midi_path)), Path(sf), cfg))
        return name, None
    except UserError as e:
        return name, str(e)


@dataclass
class RenderReport:
    """What a batch rendering did: paths of good files, counts, and errors of skipped ones."""

    paths: dict
    rendered: int
    cached: int
    skipped: dict  # name -> one-line reason


def render_files(files: dict, soundfont: str | os.PathLike = DEFAULT_SOUNDFONT,
                 sr: int | None = None, workers: int | None = None, progress: bool = True,
                 config: RenderConfig | None = None,
                 cache: str | os.PathLike | None = None) -> RenderReport:
    """Render {name: midi path} in parallel (one fresh synthesiser per file) into the cache.

    Bad files are skipped and listed in the report; good ones are never lost.
    """
    from tqdm.auto import tqdm

    cfg = _resolve_config(config, sr)
    sf = soundfont_path(soundfont)
    _load_fluidsynth()
    digest = soundfont_digest(sf)
    paths, skipped, todo = {}, {}, []
    for name, midi_path in files.items():
        try:
            data = midi_bytes(midi_path)
        except UserError as e:
            skipped[name] = str(e)
            continue
        path = cache_path(audio_key(data, digest, cfg), cache)
        paths[name] = path
        if not path.exists():
            todo.append((name, str(midi_path), str(path), str(sf), cfg))
    todo.sort(key=lambda t: -Path(t[1]).stat().st_size)  # longest first balances the workers
    workers = max(1, min(workers or _cpu_count(), len(todo) or 1))
    bar = tqdm(total=len(todo), desc=f"render ({Path(sf).stem}, {cfg.sr} Hz)", unit="file",
               disable=not progress or not todo)
    if workers == 1:
        results = map(_job, todo)
    else:
        pool = mp_context().Pool(workers)
        results = pool.imap_unordered(_job, todo, chunksize=2)
    try:
        for name, err in results:
            if err is not None:
                skipped[name] = err
                paths.pop(name, None)
            bar.update(1)
    finally:
        bar.close()
        if workers > 1:
            pool.close()
            pool.join()
    n_failed = sum(1 for t in todo if t[0] in skipped)
    return RenderReport(paths=dict(sorted(paths.items())), rendered=len(todo) - n_failed,
                        cached=len(files) - len(todo) - (len(skipped) - n_failed), skipped=skipped)


THREADED = ("jax", "torch")  # libraries whose thread pools make a forked child hang on a lock


def mp_context():
    """Process start method for the worker pools: ``fork`` (fast, works from any script) unless
    JAX or PyTorch is loaded (``THREADED``), whose threads make forking unsafe (a child can
    inherit a lock another thread held and wait on it forever); then ``spawn`` (the caller's
    script needs an ``if __name__ == "__main__":`` guard, as spawn always does). Workers never
    use JAX or PyTorch."""
    import sys

    if any(m in sys.modules for m in THREADED) or sys.platform != "linux":
        return mp.get_context("spawn")
    return mp.get_context("fork")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def render_dataset(ds, soundfont: str | os.PathLike = DEFAULT_SOUNDFONT, sr: int | None = None,
                   workers: int | None = None, progress: bool = True,
                   config: RenderConfig | None = None, names=None) -> dict:
    """Render every segment of ``ds`` (or ``names``): {name: cached .npy path}.

    Skipped (unreadable) segments are left out and reported in one warning.
    """
    import warnings

    seg = ds.segments if names is None else ds.segments.loc[list(names)]
    report = render_files(dict(seg.midi_path.items()), soundfont, sr, workers, progress, config)
    if report.skipped:
        first = next(iter(report.skipped.items()))
        warnings.warn(f"{len(report.skipped)} segment(s) could not be rendered, e.g. {first[0]}: "
                      f"{first[1]}", stacklevel=2)
    return report.paths
