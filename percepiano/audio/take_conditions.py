"""Recording and encoding conditions of one take: the same performance, stored another way.

A listener hears the same playing whether a take starts with two seconds of silence, is saved as
a 24-bit FLAC or as a type-1 MIDI file whose tempo map sits in the note track; a scorer should
agree. Each condition here turns one take into another file of the same performance, so that
``scripts/invariance_report.py`` and invariance tests can measure how far scores move.

* ``audio`` conditions: ``f(y, sr) -> (y2, sr2)`` on float32 audio, mono ``(n,)`` or stereo
  ``(n, 2)``, in full-scale units (|y| <= 1); ``encoding(name)`` says how to write the result
  (format and subtype for ``soundfile``; default 16-bit WAV). Noise is drawn from a seeded
  ``numpy.random.Generator``, so every condition is deterministic.
* ``midi`` conditions: ``f(midi_bytes) -> bytes`` (``percepiano.audio.midi_conditions``, with
  ``mido``); times in seconds are kept unless the condition is about time.
* ``render`` conditions: ``f(midi_bytes, sr) -> (y, sr)``, the take rendered another way:
  another soundfont, or what a piano transcriber cannot read (``audio.sound_conditions``: a
  detuned piano, another instrument, two takes at once).

``REGISTRY`` maps a short stable name (``audio/lead_silence_2s``) to ``(kind, description,
function)``. A condition that cannot apply to a take (a gain that would clip) raises
``ValueError`` saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np

from percepiano.audio import midi_conditions as mc
from percepiano.audio import sound_conditions as sc


# ---------------------------------------------------------------- audio
def _zeros(n: int, y: np.ndarray) -> np.ndarray:
    return np.zeros((n, *y.shape[1:]), np.float32)


def _checked(y: np.ndarray, what: str) -> np.ndarray:
    peak = float(np.abs(y).max(initial=0.0))
    if peak > 1.0:
        raise ValueError(f"{what} clips: peak {20 * np.log10(peak):+.1f} dBFS; scale the take "
                         "down first")
    return np.ascontiguousarray(y, np.float32)


def noise(n: int, channels: int, sr: int, dbfs: float = -50.0, seed: int = 0) -> np.ndarray:
    """Pink (1/f power) room noise, ``(n,)`` for ``channels == 1`` else ``(n, channels)``,
    float32 with an RMS level of ``dbfs`` dB relative to full scale; the same for a seed."""
    white = np.random.default_rng(seed).standard_normal((channels, n))
    spec = np.fft.rfft(white, axis=1)
    f = np.fft.rfftfreq(n, 1 / sr)
    spec[:, 1:] /= np.sqrt(f[1:])
    spec[:, 0] = 0.0  # no DC
    y = np.fft.irfft(spec, n, axis=1)
    y *= 10 ** (dbfs / 20) / np.sqrt(np.mean(y ** 2))
    return (y[0] if channels == 1 else y.T).astype(np.float32)


def pad(y, sr, before: float = 0.0, after: float = 0.0):
    """``round(before * sr)`` samples of digital silence before the take, ``round(after * sr)``
    after."""
    return np.concatenate([_zeros(round(before * sr), y), y, _zeros(round(after * sr), y)]), sr


def pad_noise(y, sr, before: float = 0.0, after: float = 0.0, dbfs: float = -50.0,
              seed: int = 0):
    """``before`` / ``after`` seconds of pink room noise at ``dbfs`` RMS (see ``noise``; the
    two stretches are drawn apart from one seed) around the take."""
    ch = 1 if y.ndim == 1 else y.shape[1]
    n0, n1 = round(before * sr), round(after * sr)
    z = noise(n0 + n1, ch, sr, dbfs, seed) if n0 + n1 else _zeros(0, y)
    return np.concatenate([z[:n0], y, z[n0:]]), sr


def gain(y, sr, db: float):
    """The take ``db`` decibels louder; ``ValueError`` if it would clip."""
    return _checked(y * np.float32(10 ** (db / 20)), f"a gain of {db:+g} dB"), sr


def dc_offset(y, sr, offset: float):
    """A constant ``offset`` (full-scale units) added; ``ValueError`` if it would clip."""
    return _checked(y + np.float32(offset), f"a DC offset of {offset:g}"), sr


def resample(y, sr, new_sr: int):
    """The take at ``new_sr`` Hz (soxr, high quality); the length scales with the rate."""
    import soxr

    return np.asarray(soxr.resample(y, sr, new_sr, quality="HQ"), np.float32), new_sr


def stereo(y, sr, polarity: int = 1):
    """Mono to ``(n, 2)``: the right channel is ``polarity * left`` (``-1``: opposite)."""
    if y.ndim != 1:
        raise ValueError(f"stereo conditions need a mono take, got shape {y.shape}")
    return np.stack([y, np.float32(polarity) * y], axis=1), sr


def telephone(y, sr, new_sr: int = 8000, band: tuple[float, float] = (300.0, 3400.0)):
    """A telephone line: resampled to ``new_sr`` and band-passed to ``band`` Hz (4th-order
    Butterworth, as second-order sections)."""
    from scipy.signal import butter, sosfilt

    y8, _ = resample(y, sr, new_sr)
    sos = butter(4, band, btype="bandpass", fs=new_sr, output="sos")
    return sosfilt(sos, y8, axis=0).astype(np.float32), new_sr


def repeat(y, sr, times: int):
    """The take, its own tail included, ``times`` times in a row."""
    return np.concatenate([y] * times), sr


def same(y, sr):
    """The take unchanged (conditions that differ only in how the file is written)."""
    return y, sr


def render(data: bytes, sr: int, soundfont: str = "fluidr3"):
    """A MIDI take rendered with ``percepiano.audio.render`` (``soundfont``), mono at ``sr``."""
    from percepiano.audio import render as _render

    return _render.render_midi(data, soundfont=soundfont, sr=sr), sr


@dataclass(frozen=True)
class Encoding:
    """How an audio condition is written: ``soundfile`` format and subtype; ``kbps`` for MP3."""

    format: str = "WAV"
    subtype: str = "PCM_16"
    kbps: int | None = None

    @property
    def suffix(self) -> str:
        return {"WAV": ".wav", "FLAC": ".flac", "MP3": ".mp3", "OGG": ".ogg"}[self.format]


def mp3_writable() -> bool:
    """Whether this libsndfile writes MPEG layer III (libsndfile >= 1.1 built with LAME)."""
    import soundfile

    return ("MP3" in soundfile.available_formats()
            and "MPEG_LAYER_III" in soundfile.available_subtypes("MP3"))


def write_audio(stem: str | Path, y: np.ndarray, sr: int, enc: Encoding = Encoding()) -> Path:
    """Write ``y`` to ``stem`` with the encoding's suffix appended; the path. ``ValueError`` if
    integer samples would clip (libsndfile wraps them) or MP3 cannot be written here."""
    import soundfile

    path = Path(f"{stem}{enc.suffix}")
    extra = {}
    if enc.format == "MP3":
        if not mp3_writable():
            raise ValueError("this libsndfile cannot write MP3")
        # libsndfile's constant-bitrate rule at 32 kHz and above: kbps = 320 - level * 288
        # (truncated), so the half kbit lands on the wanted bitrate
        extra = {"compression_level": (320 - enc.kbps - 0.5) / 288, "bitrate_mode": "CONSTANT"}
    elif not enc.subtype.startswith(("FLOAT", "DOUBLE")):
        _checked(y, f"{enc.subtype} samples")
    soundfile.write(str(path), y, sr, format=enc.format, subtype=enc.subtype, **extra)
    return path


# ---------------------------------------------------------------- registry
class Condition(NamedTuple):
    kind: str  # "audio": f(y, sr) -> (y, sr); "midi": f(bytes) -> bytes; "render": f(bytes, sr)
    description: str
    function: Callable


_SPECS: dict[str, tuple[str, Callable]] = {
    "audio/lead_silence_0.5s": ("0.5 s of digital silence before", partial(pad, before=0.5)),
    "audio/lead_silence_2s": ("2 s of digital silence before", partial(pad, before=2.0)),
    "audio/lead_noise_2s": ("2 s of pink room noise (-50 dBFS RMS) before",
                            partial(pad_noise, before=2.0)),
    "audio/tail_silence_3s": ("3 s of digital silence after", partial(pad, after=3.0)),
    "audio/tail_noise_3s": ("3 s of pink room noise (-50 dBFS RMS) after",
                            partial(pad_noise, after=3.0)),
    "audio/gain_-12dB": ("12 dB quieter", partial(gain, db=-12.0)),
    "audio/gain_+6dB": ("6 dB louder (no clipping)", partial(gain, db=6.0)),
    "audio/dc_offset_0.2": ("DC offset of 0.2 full scale", partial(dc_offset, offset=0.2)),
    "audio/wav_8bit": ("8-bit unsigned PCM WAV", same),
    "audio/wav_16bit": ("16-bit PCM WAV (the reference's own encoding)", same),
    "audio/wav_24bit": ("24-bit PCM WAV", same),
    "audio/wav_float32": ("32-bit float WAV", same),
    "audio/sr_22050": ("resampled to 22.05 kHz", partial(resample, new_sr=22050)),
    "audio/sr_48000": ("resampled to 48 kHz", partial(resample, new_sr=48000)),
    "audio/sr_96000": ("resampled to 96 kHz", partial(resample, new_sr=96000)),
    "audio/flac": ("16-bit FLAC", same),
    "audio/stereo_duplicate": ("stereo, the same signal in both channels", stereo),
    "audio/stereo_opposite_polarity": ("stereo, right = -left", partial(stereo, polarity=-1)),
    "audio/telephone": ("telephone line: 8 kHz, band 300-3400 Hz", telephone),
    "audio/mp3_48k": ("MP3 at 48 kbit/s (constant bitrate)", same),
    "audio/mp3_192k": ("MP3 at 192 kbit/s (constant bitrate)", same),
    "audio/repeat_12": ("the take 12 times in a row (a long take)", partial(repeat, times=12)),
    "render/timgm6mb": ("rendered with the TimGM6mb soundfont instead of FluidR3",
                        partial(render, soundfont="timgm6mb")),
    "render/flat_quarter_tone": ("a piano tuned a quarter tone flat (A = 427.5 Hz)",
                                 partial(sc.detuned, cents=-50.0)),
    "render/flat_25_cents": ("a piano tuned 25 cents flat (A = 433.7 Hz)",
                             partial(sc.detuned, cents=-25.0)),
    "render/a415": ("a piano at baroque pitch, A = 415 Hz", partial(sc.detuned,
                                                                    cents=sc.A415_CENTS)),
    "render/organ": ("a church organ playing the MIDI (GM 20)",
                     partial(sc.instrument, number=sc.ORGAN)),
    "render/violin": ("a violin playing the MIDI (GM 41)", partial(sc.instrument,
                                                                   number=sc.VIOLIN)),
    "render/harpsichord": ("a harpsichord playing the MIDI (GM 7)",
                           partial(sc.instrument, number=sc.HARPSICHORD)),
    "render/four_hands": ("two takes at once: the take mixed with itself 1 s later",
                          partial(sc.canon, delay=1.0)),
    "midi/type1": ("type 1: metas in track 0, notes in track 1", mc.to_type1),
    "midi/type1_to_type0": ("type 1 merged back to type 0", lambda d: mc.to_type0(mc.to_type1(d))),
    "midi/tpb_96": ("96 ticks per beat", partial(mc.ticks_per_beat, tpb=96)),
    "midi/tpb_480": ("480 ticks per beat", partial(mc.ticks_per_beat, tpb=480)),
    "midi/tpb_960": ("960 ticks per beat", partial(mc.ticks_per_beat, tpb=960)),
    "midi/note_off_as_note_on0": ("note-offs as velocity-0 note-ons", mc.note_off_as_note_on0),
    "midi/note_on0_as_note_off": ("velocity-0 note-ons as note-offs", mc.note_on0_as_note_off),
    "midi/hands_two_tracks": ("type 1, hands in two tracks (split at middle C), pedals with "
                              "the right", mc.split_hands),
    "midi/tempo_in_note_track": ("type 1, tempo map (60 bpm, ticks doubled) in the note "
                                 "track, not track 0", mc.tempo_in_note_track),
    "midi/lead_silence_2s": ("2 s of silence before the first note",
                             partial(mc.lead_silence_midi, seconds=2.0)),
    "midi/pause_60s": ("a 60-s pause between the two halves", partial(mc.pause, seconds=60.0)),
    "midi/lone_pedal_130s": ("a lone sustain-pedal-up event at 130 s",
                             partial(mc.lone_pedal, at=130.0)),
    "midi/tempo_tail_200s": ("set_tempo events up to 200 s after the last note",
                             partial(mc.tempo_tail, seconds=200.0)),
    "midi/drum_channel": ("every event on channel 10 (drums)", mc.drum_channel),
    "midi/smpte_25fps": ("SMPTE time division, 25 fps x 40 ticks (milliseconds)", mc.smpte),
    "midi/sostenuto": ("sostenuto pedal (CC 66) holding a note for half the take", mc.sostenuto),
    "midi/repeat_12": ("the take 12 times in a row (a long take)",
                       partial(mc.repeat_midi, times=12)),
    "midi/repeat_40": ("the take 40 times in a row (about 10 minutes)",
                       partial(mc.repeat_midi, times=40)),
}
REGISTRY: dict[str, Condition] = {
    name: Condition(name.split("/")[0], description, fn)
    for name, (description, fn) in _SPECS.items()}

ENCODINGS: dict[str, Encoding] = {
    "audio/wav_8bit": Encoding("WAV", "PCM_U8"),
    "audio/wav_24bit": Encoding("WAV", "PCM_24"),
    "audio/wav_float32": Encoding("WAV", "FLOAT"),
    "audio/flac": Encoding("FLAC", "PCM_16"),
    "audio/mp3_48k": Encoding("MP3", "MPEG_LAYER_III", 48),
    "audio/mp3_192k": Encoding("MP3", "MPEG_LAYER_III", 192),
}


def encoding(name: str) -> Encoding:
    """How condition ``name``'s audio is written (16-bit WAV unless it is about encoding)."""
    return ENCODINGS.get(name, Encoding())
