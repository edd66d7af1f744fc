"""`percepiano splits`: the deterministic group-aware folds, and the size of the locked exam."""

from __future__ import annotations

from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset, exam, splits, temporal
from percepiano.errors import UserError

KINDS = (*splits.KINDS, "temporal")


def register(sub) -> None:
    p = sub.add_parser(
        "splits", help="show the cross-validation folds of a split kind, or the exam's size",
        description="Deterministic k-fold splits that hold out: random (single segments), piece "
                    "(music groups), performer (score renderings one group), composer "
                    "(leave-one-composer-out, k=2), work (whole works); or the single temporal "
                    "split (the music groups heard last in each work test, the rest train). "
                    "--json prints {segment name: test fold} (temporal: train or test). --exam "
                    "prints how much the locked final exam holds (counts only).")
    p.add_argument("--kind", default="piece", help=f"one of {', '.join(KINDS)}")
    p.add_argument("--k", type=int, default=4, help="number of folds (default 4; not temporal)")
    p.add_argument("--share", type=float, default=temporal.TEMPORAL_SHARE,
                   help="temporal: the share of each work's music groups held out, by the "
                        f"first bar at which they are heard (default {temporal.TEMPORAL_SHARE})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--part", choices=("all", "development"), default="all",
                   help="fold all segments (default) or the development part, the one the "
                        "experiments fold (the locked final exam left out)")
    p.add_argument("--json", action="store_true")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--exam", action="store_true",
                      help="count the segments, music groups, works and composers locked away "
                           "in the final exam")
    what.add_argument("--redraw-exam", action="store_true",
                      help="draw the final exam again from the current music groups and "
                           "overwrite percepiano/data/final_exam.txt (only before any result "
                           "on the exam exists); refused without --force")
    p.add_argument("--force", action="store_true",
                   help="with --redraw-exam: redraw even though it moves the locked exam")
    add_data_option(p)
    p.set_defaults(func=_run)


def exam_counts(ds: dataset.PercePiano) -> dict:
    """How much of ``ds`` (the whole dataset) the locked final exam holds: counts only."""
    seg = ds.segments
    locked = seg[seg.index.isin(dataset.final_exam_names())]
    return {
        "segments": len(locked),
        "fraction": round(len(locked) / len(seg), 4),
        "music_groups": int(locked.music_group.nunique()),
        "works": int(locked.piece.nunique()),
        "composers": int(locked.composer.nunique()),
        "segments_per_composer": {k: int(v) for k, v in locked.groupby("composer").size().items()},
        "segments_per_work": {k: int(v) for k, v in locked.groupby("piece").size().items()},
    }


def _run(args) -> int:
    if args.force and not args.redraw_exam:
        raise UserError("--force only goes with --redraw-exam")
    if args.redraw_exam and not args.force:
        read = len(exam.reads())
        seen = f", which has been read {read} time(s) in this profile" if read else ""
        raise UserError(f"--redraw-exam would move the locked final exam{seen}; add --force to "
                        "redraw it anyway")
    if args.exam or args.redraw_exam:
        ds = dataset.load(args.data, part="all")  # segments and music groups only
        if args.redraw_exam:
            before = set(dataset.final_exam_names())
            path = dataset.write_final_exam(ds.segments)
            moved = len(before ^ set(dataset.final_exam_names()))
            print(f"wrote {path} ({moved} names moved); commit it")
            return 0
        c = exam_counts(ds)
        lines = [f"locked final exam: {c['segments']} of {len(ds.names)} segments "
                 f"({c['fraction']:.1%}), {c['music_groups']} music groups, {c['works']} works, "
                 f"{c['composers']} composers"]
        lines += [f"  {k:<24} {v}" for k, v in c["segments_per_composer"].items()]
        lines += [f"  {k:<24} {v}" for k, v in c["segments_per_work"].items()]
        emit(c, args.json, "\n".join(lines))
        return 0
    ds = dataset.load(args.data, part=args.part)
    if args.kind == "temporal":
        return _temporal(ds, args)
    folds = splits.make_folds(ds.segments, args.kind, args.k, args.seed)
    desc = splits.describe(folds, ds.segments, args.kind)
    table = (f"{args.kind} split of the {args.part} segments ({len(ds.names)}), k={args.k}, "
             f"seed={args.seed}\n{desc.to_string()}")
    emit({name: int(f) for name, f in folds.items()}, args.json, table)
    return 0



def _temporal(ds: dataset.PercePiano, args) -> int:
    """The temporal split: {name: "train" | "test"} and, per side, what it holds."""
    if not 0 < args.share < 1:
        raise UserError(f"--share must be between 0 and 1 (got {args.share})")
    test = temporal.temporal_test(ds.segments, args.share)
    seg = ds.segments.assign(side=test.map({True: "test", False: "train"}),
                             work=ds.segments.piece.map(temporal.work_of))
    table = seg.groupby("side").agg(segments=("excerpt", "size"),
                                    excerpts=("excerpt", "nunique"),
                                    music_groups=("music_group", "nunique"),
                                    works=("work", "nunique"))
    shared = int((seg.groupby("music_group").side.nunique() > 1).sum())
    text = (f"temporal split of the {args.part} segments ({len(ds.names)}): the last "
            f"{args.share:.0%} of each work's music groups, by the first bar they are heard, "
            f"test\n{table.to_string()}\nmusic groups on both sides: {shared}")
    emit(seg.side.to_dict(), args.json, text)
    return 0
