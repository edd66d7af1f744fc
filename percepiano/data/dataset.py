"""The PercePiano dataset: locate, fetch, verify and read it.

Park et al. (2024), "Piano performance evaluation dataset with multilevel perceptual features",
Scientific Reports 14, 23002. 1202 MIDI segments of excerpts of Schubert and Beethoven played by
20 human performers plus two score renderings (``Score``, ``Score2``), each with 4-19 valid ratings
from 4-17 distinct raters (some raters rated a segment more than once) on 19 perceptual
dimensions (1-7 scale).

About 15 % of the segments, whole music groups, are the locked final exam
(``percepiano/data/final_exam.txt``, drawn by ``splits.draw_final_exam``; see
``percepiano.data.exam``): ``load`` returns the development part without them unless asked for
``part="all"`` (every segment's metadata, for counts, rendering and duplicate finding, but the
development segments' labels and ratings only) or ``part="exam"``; the exam's labels take the
capability ``exam.grant`` gives the final-exam experiment alone, and each read of them is
recorded in the results store. ``assert_no_exam`` checks a list of names.

The data folder has the upstream repository's layout. Its quirks are handled here, never by
editing the files:

* one MIDI file name starts with a space (`` Schubert_D935_no.3_4bars_2_1.mid``);
* in the raw ratings a 0 or an empty cell means "not rated", and a row with any rating above 7
  is invalid (the authors dropped those rows; recomputing the label file needs the same);
* score renderings may be spelled ``_score`` in the ratings but ``_Score`` / ``_Score2`` in the
  labels, so names are normalised before they are joined;
* the ratings file has a 20th question column (free-text remarks for some raters): only the
  first 19 question columns are the 19 dimensions, in label order.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import re
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from percepiano.data import exam, splits
from percepiano.data.exam import FINAL_EXAM_FILE, assert_no_exam, final_exam_names  # noqa: F401
from percepiano.data.music import stored_music_groups  # reads score and performance MIDI
from percepiano.errors import DataError

UPSTREAM_REPO = "JonghoKimSNU/PercePiano"
UPSTREAM_COMMIT = "e672299b8661f63802cd5cd73bb3c76218a13029"
UPSTREAM_URL = f"https://github.com/{UPSTREAM_REPO}/archive/{UPSTREAM_COMMIT}.zip"

LABEL_FILE = "label_2round_mean_reg_19_with0_rm_highstd0.json"
STD_FILE = "label_2round_std_reg_19_with0_rm_highstd0.json"
RATINGS_FILE = "labels/total_2rounds.csv"
MIDI_DIR = "virtuoso/data/all_2rounds"
SCORE_MIDI_DIR = "virtuoso/data/score_midi"
REQUIRED = (LABEL_FILE, STD_FILE, RATINGS_FILE, MIDI_DIR)

DIMENSIONS: tuple[str, ...] = (
    "Timing_Stable_Unstable",
    "Articulation_Short_Long",
    "Articulation_Soft_cushioned_Hard_solid",
    "Pedal_Sparse/dry_Saturated/wet",
    "Pedal_Clean_Blurred",
    "Timbre_Even_Colorful",
    "Timbre_Shallow_Rich",
    "Timbre_Bright_Dark",
    "Timbre_Soft_Loud",
    "Dynamic_Sophisticated/mellow_Raw/crude",
    "Dynamic_Little_dynamic_range_Large_dynamic_range",
    "Music_Making_Fast_paced_Slow_paced",
    "Music_Making_Flat_Spacious",
    "Music_Making_Disproportioned_Balanced",
    "Music_Making_Pure_Dramatic/expressive",
    "Emotion_&_Mood_Optimistic/pleasant_Dark",
    "Emotion_&_Mood_Low_Energy_High_Energy",
    "Emotion_&_Mood_Honest_Imaginative",
    "Interpretation_Unsatisfactory/doubtful_Convincing",
)
CATEGORY_NAMES: tuple[str, ...] = (
    "Timing", "Articulation", "Pedal", "Timbre", "Dynamic", "Music_Making", "Emotion_&_Mood",
    "Interpretation",
)
CATEGORIES: dict[str, str] = {
    d: next(c for c in CATEGORY_NAMES if d.startswith(c + "_")) for d in DIMENSIONS
}
SCORE_PERFORMERS = ("Score", "Score2")
PARTS = ("development", "all", "exam")  # what ``load`` returns; see ``load``
SCALE_MAX = 7  # ratings are on a 1-7 scale; labels are rating / 7

_NAME = re.compile(r"^(?P<piece>.+)_(?P<bars>\d+)bars_(?P<performer>[^_]+)_(?P<segment>\d+)$")
_SCORE_SPELLING = re.compile(r"_score(2?)_", re.IGNORECASE)


def _how_to_get() -> str:
    return ("set PERCEPIANO_DATA (or --data) to a PercePiano checkout, "
            "or run `percepiano data fetch` to download it")


def locate(data: str | os.PathLike | None = None) -> Path:
    """The data folder: ``data`` if given, else ``$PERCEPIANO_DATA``, else ``data/PercePiano`` in
    the project root.

    Raises DataError naming the first missing file when the folder is absent or incomplete.
    """
    source = "--data"
    if data is None:
        data, source = os.environ.get("PERCEPIANO_DATA"), "PERCEPIANO_DATA"
    if not data:
        from percepiano.config import project_root

        data, source = project_root() / "data" / "PercePiano", "default location"
    root = Path(data).expanduser()
    if not root.is_absolute() and not root.is_dir():
        # a relative path given at the project root, read from a chapter running in book/
        from percepiano.config import project_root

        root = project_root() / root
    root = root.resolve()
    if not root.is_dir():
        raise DataError(f"PercePiano data not found at {root} ({source}); {_how_to_get()}")
    for rel in REQUIRED:
        if not (root / rel).exists():
            raise DataError(f"PercePiano data at {root} is incomplete: {rel} is missing; "
                            f"{_how_to_get()}")
    return root


def normalise_name(name: str) -> str:
    """Canonical segment name: no extension, no surrounding spaces, ``_Score``/``_Score2``."""
    name = name.strip()
    for ext in (".wav", ".mid", ".midi"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return _SCORE_SPELLING.sub(lambda m: f"_Score{m.group(1)}_", name)


def parse_name(name: str) -> dict:
    """Split ``{piece}_{N}bars_{performer}_{segment}`` into its parts (and derived ids)."""
    m = _NAME.match(name)
    if not m:
        raise DataError(f"segment name {name!r} does not follow {{piece}}_{{N}}bars_"
                        "{performer}_{segment}")
    piece, bars, performer, seg = m["piece"], int(m["bars"]), m["performer"], int(m["segment"])
    return {
        "piece": piece,
        "composer": piece.split("_")[0],
        "bars": bars,
        "performer": performer,
        "segment": seg,
        # the same music across performers: piece, excerpt length and position
        "excerpt": f"{piece}_{bars}bars_{seg}",
        "is_score": performer in SCORE_PERFORMERS,
    }


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON (line {e.lineno}: {e.msg}); "
                        "the file is truncated or corrupt, fetch the data again") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} should map segment names to lists of numbers")
    return obj


def _label_frame(obj: dict, path: Path, width: int) -> pd.DataFrame:
    rows = {}
    for key, values in obj.items():
        if not isinstance(values, list) or len(values) < width:
            n = len(values) if isinstance(values, list) else "no"
            raise DataError(f"{path}: entry {key!r} has {n} values, expected {width}")
        rows[normalise_name(key)] = values[:width]
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    return frame.sort_index()


def read_ratings(path: str | os.PathLike) -> pd.DataFrame:
    """The raw crowd ratings as one row per (rater, segment) with the 19 dimensions on 1-7.

    Not-rated cells (0 or empty) are NaN; rows with any rating above 7 are dropped (they are
    invalid). The result has ``attrs['dropped_invalid']`` with the number of dropped rows.
    """
    path = Path(path)
    # the csv module, not pandas: pandas silently re-reads a too-long first row as an index and
    # pads short rows, and a malformed row must be an error naming its line
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path} is not a readable CSV file ({e})") from None
    if not rows:
        raise DataError(f"{path} is empty")
    header = rows[0]
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path} has a malformed row: line {i} has {len(row)} fields, "
                            f"the header has {len(header)}")
    raw = pd.DataFrame(rows[1:], columns=header, dtype=str)
    questions = [c for c in raw.columns if c.startswith("Question")]
    missing = {"user", "filename"} - set(raw.columns)
    if missing or len(questions) < len(DIMENSIONS):
        raise DataError(f"{path} lacks columns: expected user, filename and "
                        f"{len(DIMENSIONS)} Question_* columns")
    values = raw[questions[: len(DIMENSIONS)]].apply(lambda s: s.str.strip())
    numeric = values.apply(pd.to_numeric, errors="coerce")
    garbage = numeric.isna() & values.ne("")
    if garbage.any().any():
        row = int(np.flatnonzero(garbage.any(axis=1).to_numpy())[0])
        raise DataError(f"{path}: row {row + 2} has a non-numeric rating "
                        f"{values.iloc[row][garbage.iloc[row]].iloc[0]!r}")
    invalid = (numeric > SCALE_MAX).any(axis=1)
    numeric = numeric.where(numeric > 0)  # 0 = not rated
    numeric.columns = list(DIMENSIONS)
    out = pd.concat([
        raw[["user"]].rename(columns={"user": "rater"}),
        raw["filename"].map(normalise_name).rename("name"),
        numeric,
    ], axis=1)[~invalid.to_numpy()].reset_index(drop=True)
    out.attrs["dropped_invalid"] = int(invalid.sum())
    return out


@dataclass(frozen=True, eq=False)
class PercePiano:
    """The labelled dataset, every table indexed (or keyed) by canonical segment name.

    segments: one row per labelled segment, sorted by name: midi_path, piece, composer, bars,
        performer, performer_index (upstream's integer id), segment, excerpt, is_score,
        score_midi_path (the deadpan score MIDI of the same excerpt, or None), n_ratings,
        music_group (excerpts that share music, see ``percepiano.data.music``).
    labels: the 19 mean ratings / 7, in (0, 1], columns ``DIMENSIONS``.
    label_std: per-segment standard deviation of the ratings / 7, as upstream ships it (it
        counts not-rated cells as 0; see ``recomputed_std``).
    ratings: the raw ratings table from ``read_ratings``.
    rated: who rated which segment, one row per valid rating (columns ``rater``, ``name``),
        without the ratings themselves: what the counts of raters and ratings come from.

    In ``load(part="all")`` without the key, ``labels``, ``label_std`` and ``ratings`` hold the
    development segments alone (so ``labels.index`` is not ``segments.index``), and ``.loc`` of
    an exam segment's label raises ``exam.ExamLocked`` (``exam.without_exam_labels``).
    """

    root: Path
    segments: pd.DataFrame
    labels: pd.DataFrame
    label_std: pd.DataFrame
    ratings: pd.DataFrame
    rated: pd.DataFrame

    @property
    def names(self) -> list[str]:
        return list(self.segments.index)

    def recomputed_labels(self) -> pd.DataFrame:
        """Mean labels recomputed from the raw ratings (valid rows, not-rated excluded) / 7."""
        means = self.ratings.groupby("name")[list(DIMENSIONS)].mean() / SCALE_MAX
        return means.reindex(self.labels.index)

    def recomputed_std(self, unrated_as_zero: bool = False) -> pd.DataFrame:
        """Population std of the ratings / 7 per segment.

        The upstream std file (``label_std``) counts not-rated cells as ratings of 0, unlike the
        mean file: ``unrated_as_zero=True`` reproduces it exactly; the default gives the spread
        of the actual ratings, which is the one to use.
        """
        values = self.ratings[list(DIMENSIONS)]
        if unrated_as_zero:
            values = values.fillna(0.0)
        std = values.groupby(self.ratings["name"]).std(ddof=0) / SCALE_MAX
        return std.reindex(self.labels.index)


def load(data: str | os.PathLike | None = None, part: str = "development", *,
         key: exam.ExamKey | None = None, force: bool = False) -> PercePiano:
    """Read the dataset from ``locate(data)``; cached per folder and part.

    ``part``: ``"development"`` (the default) leaves out the locked final exam (its segments,
    labels, label std and ratings), so experiments never see it. ``"all"`` holds every
    segment's metadata (``segments``, ``rated``), for counts, rendering, duplicate finding and
    drawing folds, but the labels, label std and ratings of the development segments only
    (``exam.without_exam_labels``); with ``key`` it is the whole dataset, labels included.
    ``"exam"`` is the final exam alone and needs ``key``. ``key`` must be
    ``exam.grant(exam.EXPERIMENT)``; each read of the exam's labels (``"exam"``, or ``"all"``
    with ``key``) is recorded in the results store (``exam.record_read``), and a second one in
    the same profile needs ``force=True``.

    Raises ValueError for an unknown part, DataError when the data is missing or malformed, and
    DataError for ``"exam"`` without the key, a ``key`` that ``exam.grant`` did not give, or a
    second read of the exam's labels without ``force``.
    """
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
    if part == "development" or (part == "all" and key is None):
        return _load_part(locate(data).resolve(), part)
    exam.check_read(key, force)  # before the data is touched
    root = locate(data).resolve()
    ds = _load(root) if part == "all" else _load_part(root, part)
    exam.record_read(key, force)
    return ds


@functools.lru_cache(maxsize=8)
def _load_part(root: Path, part: str) -> PercePiano:
    ds = _load(root)
    if part == "all":
        return exam.without_exam_labels(ds)
    locked = set(final_exam_names())
    return _restrict(ds, [n for n in ds.names if (n in locked) == (part == "exam")])


def _restrict(ds: PercePiano, names: list[str]) -> PercePiano:
    return replace(ds, segments=ds.segments.loc[names], labels=ds.labels.loc[names],
                   label_std=ds.label_std.loc[names],
                   ratings=ds.ratings[ds.ratings["name"].isin(names)],
                   rated=ds.rated[ds.rated["name"].isin(names)])


def without(ds: PercePiano, names) -> PercePiano:
    """``ds`` without the segments ``names`` (those not in it are ignored)."""
    drop = set(names)
    return _restrict(ds, [n for n in ds.names if n not in drop])


def subset(ds: PercePiano, max_segments: int | None) -> PercePiano:
    """``ds`` restricted to at most ``max_segments`` segments, taken as whole excerpts (every
    performance of each) so a small run keeps what the evaluation needs: several performances
    of the same music, many works, both composers. Excerpts are taken round-robin: the first
    excerpt of every work (the composers' works interleaved), then the second, and so on."""
    if max_segments is None or max_segments >= len(ds.names):
        return ds
    ex = (ds.segments.groupby("excerpt")[["piece", "composer"]].first()
          .assign(size=ds.segments.groupby("excerpt").size()).sort_index())
    ex["in_piece"] = ex.groupby("piece").cumcount()
    ex["piece_rank"] = ex.groupby("composer").piece.rank(method="dense")
    order = ex.sort_values(["in_piece", "piece_rank", "composer"], kind="stable")
    chosen = order.index[order["size"].cumsum() <= max_segments]
    return _restrict(ds, sorted(ds.segments.index[ds.segments.excerpt.isin(chosen)]))


def final_exam_text(segments: pd.DataFrame, names: list[str]) -> str:
    """The contents of ``FINAL_EXAM_FILE`` for the exam ``names`` drawn from ``segments``."""
    group = splits.groups(segments, "piece")
    strata = group.map(splits.exam_strata(segments))
    counts = pd.DataFrame({"exam": strata[names].value_counts(), "all": strata.value_counts()})
    counts = counts.fillna(0).astype(int)
    per = ", ".join(f"{s} {r.exam}/{r['all']}" for s, r in counts.iterrows())
    header = [
        "The locked final exam of PercePiano: read only by the final results chapter.",
        "Drawn by percepiano.data.splits.draw_final_exam(segments, "
        f"fraction={splits.EXAM_FRACTION}, seed={splits.EXAM_SEED})",
        f"from all {len(segments)} segments: whole music groups (percepiano.data.music), "
        "stratified by work",
        "or by composer for a composer's works too small to share (splits.exam_strata).",
        f"{len(names)} segments in {group[names].nunique()} music groups; per stratum "
        "(exam/all):",
        f"{per}.",
        "Do not edit by hand. If the music grouping changes (tests/test_final_exam.py fails)",
        "and no result on the exam exists yet, redraw it with:",
        "    percepiano splits --redraw-exam",
    ]
    return "".join(f"# {line}\n" for line in header) + "".join(f"{n}\n" for n in names)


def write_final_exam(segments: pd.DataFrame, path: str | os.PathLike | None = None) -> Path:
    """Draw the final exam from all ``segments`` and write it to ``path`` (default: the package's
    ``FINAL_EXAM_FILE``) atomically (temp file + rename)."""
    path = Path(path) if path is not None else Path(__file__).with_name(FINAL_EXAM_FILE)
    text = final_exam_text(segments, splits.draw_final_exam(segments))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # package data, readable by all (mkstemp makes it private)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    final_exam_names.cache_clear()
    _load_part.cache_clear()
    return path


@functools.lru_cache(maxsize=4)
def _load(root: Path) -> PercePiano:
    mean_obj = _read_json(root / LABEL_FILE)
    labels_with_performer = _label_frame(mean_obj, root / LABEL_FILE, len(DIMENSIONS) + 1)
    labels = labels_with_performer.iloc[:, : len(DIMENSIONS)]
    labels.columns = list(DIMENSIONS)
    label_std = _label_frame(_read_json(root / STD_FILE), root / STD_FILE, len(DIMENSIONS))
    label_std.columns = list(DIMENSIONS)
    if set(label_std.index) != set(labels.index):
        raise DataError(f"{STD_FILE} and {LABEL_FILE} list different segments")

    midi = {normalise_name(p.name): p for p in (root / MIDI_DIR).iterdir()
            if p.suffix.lower() in (".mid", ".midi")}
    scores = {}  # excerpt id -> deadpan score MIDI (segment numbers may be zero-padded there)
    if (root / SCORE_MIDI_DIR).is_dir():
        for p in sorted((root / SCORE_MIDI_DIR).iterdir()):
            m = _NAME.match(normalise_name(p.name))
            if m and m["performer"] == "Score" and p.suffix.lower() in (".mid", ".midi"):
                scores[f"{m['piece']}_{m['bars']}bars_{int(m['segment'])}"] = p
    ratings = read_ratings(root / RATINGS_FILE)
    n_ratings = ratings.groupby("name").size()

    rows = []
    for name in labels.index:
        if name not in midi:
            raise DataError(f"{MIDI_DIR}/{name}.mid is missing from {root}; {_how_to_get()}")
        info = parse_name(name)
        rows.append({
            "name": name,
            "midi_path": str(midi[name]),
            **info,
            "performer_index": int(labels_with_performer.loc[name].iloc[-1]),
            "score_midi_path": str(scores[info["excerpt"]]) if info["excerpt"] in scores else None,
            "n_ratings": int(n_ratings.get(name, 0)),
        })
    segments = pd.DataFrame(rows).set_index("name").sort_index()

    segments["music_group"] = segments["excerpt"].map(stored_music_groups(segments))
    return PercePiano(root, segments, labels.loc[segments.index],
                      label_std.loc[segments.index], ratings, ratings[["rater", "name"]])


# --------------------------------------------------------------------------- fetch and verify


def manifest_hashes(manifest: str | os.PathLike | None = None) -> dict[str, str]:
    """{relative path: sha256} of the pinned upstream data files (shipped with the package)."""
    if manifest is None:
        text = resources.files("percepiano.data").joinpath("manifest.sha256").read_text()
    else:
        text = Path(manifest).read_text()
    out = {}
    for line in text.splitlines():
        if line.strip():
            digest, rel = line.split(None, 1)
            out[rel.lstrip("*")] = digest  # keep a leading space in a file name
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(root: str | os.PathLike, manifest: str | os.PathLike | None = None) -> list[str]:
    """Paths (relative) that are missing or differ from the pinned hashes; empty when all match."""
    root = Path(root)
    bad = []
    for rel, digest in manifest_hashes(manifest).items():
        p = root / rel
        if not p.is_file() or _sha256(p) != digest:
            bad.append(rel)
    return bad


def fetch(dest: str | os.PathLike = "data/PercePiano", source: str | None = None,
          manifest: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Download (or take from ``source``: a URL or a local .zip) the upstream archive, verify every
    data file against the pinned SHA-256 manifest, and move it into ``dest`` atomically.

    Upstream archives are not byte-stable, so the files are verified, not the archive.
    Nothing is left at ``dest`` unless every file verified.
    """
    dest = Path(dest)
    if dest.exists() and not verify(dest, manifest):
        return dest
    if dest.exists():
        raise DataError(f"{dest} exists but does not verify; move it away and fetch again")
    source = source or UPSTREAM_URL
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
        tmp = Path(tmp)
        archive = Path(source) if Path(source).is_file() else tmp / "archive.zip"
        if not Path(source).is_file():
            _download(source, archive, progress)
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp / "x")
        except zipfile.BadZipFile:
            raise DataError(f"{source} is not a valid zip archive") from None
        tops = [p for p in (tmp / "x").iterdir() if p.is_dir()]
        top = tops[0] if len(tops) == 1 and not (tmp / "x" / LABEL_FILE).exists() else tmp / "x"
        bad = verify(top, manifest)
        if bad:
            raise DataError(f"downloaded data does not match the pinned checksums "
                            f"({len(bad)} files, e.g. {bad[0]!r}); nothing was installed")
        os.replace(top, dest)  # atomic within one file system
    return dest


def _download(url: str, out: Path, progress: bool) -> None:
    from tqdm.auto import tqdm

    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(out, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="PercePiano",
                      disable=not progress) as bar:
                for chunk in iter(lambda: r.read(1 << 16), b""):
                    f.write(chunk)
                    bar.update(len(chunk))
    except OSError as e:
        raise DataError(f"could not download {url}: {e}") from None


def summary(ds: PercePiano) -> dict:
    """Counts that describe ``ds`` (what `percepiano data info` prints). Segments, raters and
    ratings count every segment ``ds`` holds (``segments``, ``rated``: the whole dataset for
    ``load(part="all")``); ``labelled_segments`` and ``labels_recomputed_match_1e-6`` (labels
    equal to the mean of their raw ratings / 7) count the labels it holds: the development
    segments' alone in ``load(part="all")`` without the key."""
    seg = ds.segments
    recomputed = ds.recomputed_labels()
    match = (np.abs(recomputed.to_numpy() - ds.labels.to_numpy()) < 1e-6).all(axis=1)
    per_rater = ds.rated.groupby("name").rater.nunique()  # distinct raters per segment
    return {
        "segments": len(seg),
        "dimensions": len(DIMENSIONS),
        "categories": len(CATEGORY_NAMES),
        "pieces": int(seg.piece.nunique()),
        "composers": int(seg.composer.nunique()),
        "excerpts": int(seg.excerpt.nunique()),
        "music_groups": int(seg.music_group.nunique()),
        "performers": int(seg.performer.nunique()),
        "score_renderings": int(seg.is_score.sum()),
        "raters": int(ds.rated.rater.nunique()),
        "ratings": len(ds.rated),
        "invalid_rating_rows_dropped": int(ds.ratings.attrs.get("dropped_invalid", 0)),
        "ratings_per_segment": {"min": int(seg.n_ratings.min()), "max": int(seg.n_ratings.max()),
                                "mean": float(seg.n_ratings.mean())},
        "raters_per_segment": {"min": int(per_rater.min()), "max": int(per_rater.max())},
        "locked_final_exam_segments": int(seg.index.isin(final_exam_names()).sum()),
        "labelled_segments": len(ds.labels),
        "labels_recomputed_match_1e-6": int(match.sum()),
        "root": str(ds.root),
    }

