"""`percepiano data info|fetch|verify`: what the dataset holds, and getting it."""

from __future__ import annotations

from percepiano.cli.common import add_data_option, emit
from percepiano.data import dataset


def register(sub) -> None:
    p = sub.add_parser("data", help="describe, fetch or verify the PercePiano data",
                       description="Describe, fetch or verify the PercePiano data.")
    dsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    info = dsub.add_parser(
        "info", help="counts of segments, pieces, performers, ratings",
        description="Counts of the whole dataset (segments, pieces, performers, raters, "
                    "ratings), and the labels of the development part checked against the raw "
                    "ratings; the final exam's labels stay locked.")
    add_data_option(info)
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=_info)

    fetch = dsub.add_parser(
        "fetch", help="download the pinned upstream data and verify every file",
        description=f"Download {dataset.UPSTREAM_REPO} at commit {dataset.UPSTREAM_COMMIT}, "
                    "verify each data file against the pinned SHA-256 manifest, and move it "
                    "into place atomically.")
    fetch.add_argument("--dest", default="data/PercePiano", help="where to put it")
    fetch.add_argument("--archive", default=None,
                       help="use this local .zip (or URL) instead of downloading from upstream")
    fetch.set_defaults(func=_fetch)

    ver = dsub.add_parser("verify", help="check every data file against the pinned SHA-256")
    add_data_option(ver)
    ver.set_defaults(func=_verify)


def _info(args) -> int:
    ds = dataset.load(args.data, part="all")  # no key: the development part's labels only
    s = dataset.summary(ds)
    rows = "\n".join(f"  {k:<30} {v}" for k, v in s.items() if not isinstance(v, dict))
    per = s["ratings_per_segment"]
    table = (f"PercePiano at {s['root']}\n{rows}\n"
             f"  {'ratings per segment':<30} {per['min']}-{per['max']} (mean {per['mean']:.1f})")
    emit(s, args.json, table)
    return 0


def _fetch(args) -> int:
    path = dataset.fetch(args.dest, source=args.archive)
    print(f"PercePiano data verified at {path}; use it with PERCEPIANO_DATA={path}")
    return 0


def _verify(args) -> int:
    root = dataset.locate(args.data)
    bad = dataset.verify(root)
    if bad:
        print(f"{len(bad)} files missing or changed, e.g. {bad[:3]}")
        return 1
    print(f"all {len(dataset.manifest_hashes())} files match the pinned checksums")
    return 0
