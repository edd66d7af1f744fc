"""The descriptors by what they describe: the groups an ablation removes one at a time and the
listener's recovery table reads.

MIDI performance descriptors (``features.midi``) fall into timing, dynamics, articulation, pedal
and texture by their name's prefix; the score-informed ones (``features.midi.SCORE_FEATURES``)
form the score-relative group. Audio descriptors (``features.audio``) fall into MFCC, spectral
shape, harmonic (chroma, harmonic/percussive ratio), loudness and onsets.
"""

from __future__ import annotations

from percepiano.features.midi import SCORE_FEATURES

MIDI_GROUPS = {
    "timing": ("duration_s", "n_notes", "note_density", "onset_rate", "tempo_bpm", "ioi_",
               "log_ioi", "async_", "melody_lead"),
    "dynamics": ("vel_", "melody_vel", "bass_vel", "melody_accomp"),
    "articulation": ("dur_", "artic_", "staccato", "legato", "melody_overlap",
                     "melody_legato"),
    "pedal": ("pedal_", "soft_pedal", "blur_", "sounding_"),
    "texture": ("chord_fraction", "polyphony", "pitch_"),
}
AUDIO_GROUPS = {
    "MFCC": ("mfcc", "dmfcc"),
    "spectral": ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "contrast"),
    "harmonic": ("chroma", "hp_ratio"),
    "loudness": ("rms_db",),
    "onsets": ("onset", "tempo", "duration"),
}


def group_of(descriptor: str) -> str:
    """The group of a MIDI performance descriptor (unprefixed name); ValueError if none."""
    for group, prefixes in MIDI_GROUPS.items():
        if descriptor.startswith(prefixes):
            return group
    raise ValueError(f"descriptor {descriptor!r} belongs to no group")


def descriptor_group(column: str) -> str:
    """The group of a forest descriptor column (``midi:`` or ``audio:`` prefixed): a MIDI
    group, ``score-relative``, or an audio group. Raises ValueError for an unknown column."""
    source, _, name = column.partition(":")
    if source == "midi":
        return "score-relative" if name in SCORE_FEATURES else group_of(name)
    if source == "audio":
        for group, prefixes in AUDIO_GROUPS.items():
            if name.startswith(prefixes):
                return group
    raise ValueError(f"descriptor {column!r} belongs to no group")
