"""Time the audio layer on the whole dataset: rendering, log-mel spectrograms, audio descriptors.

    PERCEPIANO_DATA=... python scripts/bench_audio.py [--workers 2] [--cache DIR] [--stages ...]

Without ``--cache`` a fresh temporary cache is used, so every stage is timed cold (and removed
afterwards); with ``--cache`` the files stay for later use. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished workers."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


class Timer:
    """Wall and CPU seconds of a block, stored as ``{name}_s`` and ``{name}_cpu_s`` in ``out``.

    The CPU time is what the work costs whatever else shares the machine; CPU / workers is the
    wall time an otherwise idle machine with that many cores would need."""

    def __init__(self, out: dict, name: str):
        self.out, self.name = out, name

    def __enter__(self):
        self.t, self.c = time.perf_counter(), cpu_seconds()

    def __exit__(self, *exc):
        self.out[f"{self.name}_s"] = round(time.perf_counter() - self.t, 2)
        self.out[f"{self.name}_cpu_s"] = round(cpu_seconds() - self.c, 2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--soundfont", default=None, help="registered name or .sf2 path")
    p.add_argument("--cache", default=None, help="cache folder to fill (default: a fresh temp one)")
    p.add_argument("--stages", nargs="+", default=["render", "mel"],
                   choices=["render", "mel", "audio", "midi"])
    p.add_argument("--limit", type=int, default=None, help="first N segments only")
    args = p.parse_args(argv)

    tmp = None
    if args.cache is None:
        tmp = tempfile.mkdtemp(prefix="percepiano-bench-")
    os.environ["PERCEPIANO_CACHE"] = args.cache or tmp

    from percepiano.audio import render, spectrogram
    from percepiano.data import dataset

    ds = dataset.load()
    names = ds.names[: args.limit] if args.limit else ds.names
    sf = args.soundfont or render.DEFAULT_SOUNDFONT
    out = {"segments": len(names), "workers": args.workers, "soundfont": str(sf),
           "cpu": platform.processor() or platform.machine(), "cpus_visible": os.cpu_count(),
           "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    try:
        if "render" in args.stages or "mel" in args.stages:
            with Timer(out, "render"):
                paths = render.render_dataset(ds, soundfont=sf, workers=args.workers, names=names)
            seconds = sum(os.path.getsize(p) - 128 for p in paths.values()) / 4 / 16000
            out["audio_hours"] = round(seconds / 3600, 3)
            out["render_x_realtime_per_cpu_s"] = round(seconds / max(out["render_cpu_s"], 1e-9), 1)
        if "mel" in args.stages:
            with Timer(out, "mel"):
                specs = spectrogram.compute_dataset(ds, soundfont=sf, workers=args.workers,
                                                    names=names)
            out["mel_frames"] = int(sum(s.shape[1] for s in specs.values()))
            with Timer(out, "mel_cached_load"):
                spectrogram.compute_dataset(ds, soundfont=sf, workers=args.workers, names=names,
                                            progress=False)
        if "audio" in args.stages:
            from percepiano.features import audio

            with Timer(out, "audio_features"):
                table = audio.audio_feature_table(ds, soundfont=sf, workers=args.workers,
                                                  names=names)
            out["audio_features_shape"] = list(table.shape)
        if "midi" in args.stages:
            from percepiano.features import midi

            with Timer(out, "midi_features"):
                table = midi.midi_feature_table(ds, workers=args.workers, names=names)
            out["midi_features_shape"] = list(table.shape)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
