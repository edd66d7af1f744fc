"""What the commands that score performances share (`predict`, `explain`): their inputs, the
checks made before any work, reading every file with refusals one line each, and the exit
status.

A folder scores what it can: each refused file is named on its own line on stderr and the
others are scored; the exit status says whether all were (``EXIT_STATUS``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from percepiano.errors import UserError

DEFAULT_LEVEL = 0.8
OK, SOME_REFUSED, NOTHING, NOT_WRITTEN = 0, 1, 2, 3
EXIT_STATUS = (f"exit status: {OK} every file scored and written; {SOME_REFUSED} some files "
               f"refused (each named on stderr), the others scored and written; {NOTHING} "
               f"nothing scored (a bad option, or every file refused); {NOT_WRITTEN} the scores "
               "were printed but an output file could not be written (named on stderr)")


def add_take_inputs(p) -> None:
    """The arguments every command that scores performances takes: the files or folders, and
    the coverage level of the intervals."""
    p.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_FOLDER",
                   help="performance files, or folders searched for .mid/.midi/.wav/.flac/"
                        ".ogg/.mp3 files")
    p.add_argument("--level", type=float, default=DEFAULT_LEVEL,
                   help=f"nominal coverage of the intervals, marginal: on average over "
                        f"performances (default {DEFAULT_LEVEL})")


def expand(inputs: list[Path]) -> list[Path]:
    """Files named, and every performance file under folders named, in order, once each;
    ``UserError`` for a name that does not exist or a folder without performance files."""
    from percepiano.audio.input import AUDIO_SUFFIXES, MIDI_SUFFIXES

    suffixes = MIDI_SUFFIXES + AUDIO_SUFFIXES
    out: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.is_file()
                           and f.suffix.lower() in suffixes and not f.name.startswith("."))
            if not found:
                raise UserError(f"{path}: no performance files ({', '.join(suffixes)}) in "
                                "this folder")
            out += found
        elif path.exists():
            out.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    return list(dict.fromkeys(out))


def check_level(level: float) -> None:
    """``UserError`` unless the intervals' coverage ``level`` lies strictly between 0 and 1."""
    if not 0 < level < 1:
        raise UserError(f"--level must lie strictly between 0 and 1 (e.g. 0.8), got {level}")


def check_output(option: str, path: Path | None, suffix: str) -> None:
    """``UserError`` before any work when ``path`` (given to ``option``) has the wrong suffix
    or could not be written (``io.output_problem``)."""
    from percepiano.io import output_problem

    if path is None:
        return
    if path.suffix.lower() != suffix:
        raise UserError(f"{option} {path}: the file name must end in {suffix}")
    problem = output_problem(path)
    if problem:
        raise UserError(f"{option} {problem}")


def route(files: list[Path], via: str | None) -> tuple[str, str | None]:
    """How audio files are read: ``(via, fallback note)``. ``via`` None is the default route
    (``scoring.AUDIO_ROUTE``); the notes route falls back to the sound, with a note, when the
    optional transcriber is not installed, and ``UserError`` when it was asked for."""
    from percepiano.analysis import scoring
    from percepiano.audio import transcription

    asked, via = via, via or scoring.AUDIO_ROUTE
    if via == "notes" and any(f.suffix.lower() not in scoring.MIDI_SUFFIXES for f in files):
        why = None if transcription.available() else transcription.MISSING
        if why and asked is None:  # the default route falls back; an asked-for one refuses
            return "sound", ("scored from its sound: the route through its notes, the "
                             f"default, is unavailable ({why})")
        if why:
            raise UserError(why)
    return via, None


def model_kinds(files: list[Path], via: str) -> list[str]:
    """The final models the ``files`` need when audio is read by ``via``."""
    from percepiano.analysis import scoring

    audio = "notes" if via == "notes" else "audio"
    return sorted({"midi" if scoring.input_kind(f) == "midi" else audio for f in files
                   if f.suffix.lower() in scoring.MIDI_SUFFIXES + scoring.AUDIO_SUFFIXES})


def read_takes(files: list[Path], via: str | None, command: str = "predict"):
    """Every file read and checked (``scoring.read_take``) by the route ``route`` gives, after
    checking that the models it needs can be had (``model.check_buildable``). Each refused
    file's line is printed on stderr as ``percepiano <command>: error: ...`` as it comes.
    ``(takes, refused)``: the takes read and the number refused; ``UserError`` when every file
    was refused (the one line for a single file)."""
    from tqdm.auto import tqdm

    from percepiano.analysis import scoring
    from percepiano.analysis.final import descriptor_columns
    from percepiano.cli import model as model_cli

    via, fallback = route(files, via)
    for kind in model_kinds(files, via):
        model_cli.check_buildable(kind)
    takes, refused = [], []
    for f in tqdm(files, desc="reading", unit="file", disable=len(files) < 2, leave=False,
                  file=sys.stderr):
        try:
            kind = scoring.input_kind(f)
            columns = descriptor_columns("midi" if kind == "midi" or via == "notes" else "audio")
            takes.append(scoring.read_take(f, columns, via))
        except UserError as e:
            refused.append(str(e))
            if len(files) > 1:
                tqdm.write(f"percepiano {command}: error: {e}", file=sys.stderr)
            continue
        if fallback and kind == "audio":
            takes[-1].notes.append(fallback)
    if not takes:
        if len(files) == 1:
            raise UserError(refused[-1])
        raise UserError(f"{len(refused)} of {len(files)} files refused; nothing scored")
    if refused:
        print(f"percepiano {command}: {len(refused)} of {len(files)} files refused (above); "
              f"the other {len(takes)} scored", file=sys.stderr)
    return takes, len(refused)


def cache_notes(profiles: list[dict]) -> None:
    """Add ``io.skipped_note`` (the cache could not be written) to every profile's notes."""
    from percepiano.io import skipped_note

    note = skipped_note()
    if note:
        for p in profiles:
            p["notes"].append(note)
