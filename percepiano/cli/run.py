"""``percepiano run``, ``verify`` and ``experiments``: compute, check and list named experiments.

    percepiano run data_ceiling                 # writes results/<profile>/data_ceiling/
    percepiano run --all --profile smoke        # every experiment but the benchmarks and the exam
    percepiano run final_exam                   # reads the locked final exam, once per profile
    percepiano verify identity_baselines        # exit 1 when a number moved beyond --atol
    percepiano verify --all --profile smoke     # every experiment, as the full test suite does
    percepiano experiments                      # what exists, what is stored, what changed since

Stored results are current when their configuration (and the experiment's ``version``) is the
one the code would run; a change that moves an experiment's numbers bumps its ``version``.
"""

from __future__ import annotations

from percepiano import config, experiments
from percepiano.cli.common import emit
from percepiano.errors import UserError
from percepiano.experiments import store

# how the headline numbers are named when printed (a name not listed is printed as it is)
LABELS = {"pooled_r2": "pooled R²", "pooled_r": "pooled r", "fold_mean_r2": "fold-mean R²",
          "fold_mean_r": "fold-mean r", "mean_ceiling_r2": "ceiling R²",
          "mean_ceiling_r": "ceiling r", "retest_ceiling_r2": "test-retest ceiling R²",
          "retest_ceiling_r": "test-retest ceiling r"}


def register(sub) -> None:
    p = sub.add_parser("run", help="run named experiments and store their results",
                       description="Run experiments in the active profile (PERCEPIANO_PROFILE "
                                   "or --profile) and write results/<profile>/<experiment>/.")
    p.add_argument("names", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--all", action="store_true",
                   help="run every registered experiment but the benchmarks (`percepiano "
                        "bench`) and the final exam, which is read once, by name")
    p.add_argument("--force-exam", action="store_true",
                   help="let final_exam read the locked final exam although this profile has "
                        "read it before; the read is recorded as forced in the exam's ledger")
    p.add_argument("--profile", choices=config.PROFILES, help="default: $PERCEPIANO_PROFILE")
    p.add_argument("--json", action="store_true",
                   help="print the headline numbers (named as stored) as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("verify", help="re-run experiments and compare with their stored numbers",
                       description="Re-run each EXPERIMENT without storing and print every "
                                   "number that differs from the stored one by more than the "
                                   "tolerance (timings aside); exit 1 if any does. A change that "
                                   "moves an experiment's numbers bumps its version and stores "
                                   "its results again: `percepiano run EXPERIMENT` in each "
                                   "profile whose results are committed.")
    p.add_argument("names", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--all", action="store_true",
                   help="every experiment stored in the profile but the benchmarks and the "
                        "final exam")
    p.add_argument("--profile", choices=config.PROFILES, help="default: $PERCEPIANO_PROFILE")
    p.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance (default: each experiment's, 1e-6 for CPU code)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("experiments", help="list the named experiments and their stored results",
                       description="Per profile: stored (current), stale (config) or stale "
                                   "(code) when the configuration or the code changed since "
                                   "the results were computed, - when none are stored; * when "
                                   "they came from a working tree with uncommitted changes.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_experiments)


def cmd_run(args) -> int:
    import os

    from percepiano.data import exam
    from percepiano.experiments.results import FORCE_ENV

    names = (sorted(n for n, e in experiments.REGISTRY.items()
                    if not e.benchmark and n != exam.EXPERIMENT) if args.all else args.names)
    if not names:
        raise UserError("name an experiment (see `percepiano experiments`) or pass --all")
    for name in names:
        experiments.get(name)  # unknown names fail before anything runs
    if args.force_exam:
        os.environ[FORCE_ENV] = "1"
    out, lines = [], []
    for name in names:
        res = experiments.run(name, args.profile)
        keys = res["headline"]["keys"]
        out.append({"experiment": name, "profile": res.profile, **{k: res[k] for k in keys},
                    "headline": res["headline"]["metric"],
                    "wall_time_s": res.provenance["wall_time_s"], "path": str(res.path)})
        numbers = "  ".join(f"{LABELS.get(k, k)} {res[k]:+.4f}" for k in keys)
        lines.append(f"{name:<24} {res.profile:<6} {numbers}  "
                     f"{res.provenance['wall_time_s']:8.1f} s  -> {res.path}")
    emit(out, args.json, "\n".join(lines))
    return 0


def cmd_verify(args) -> int:
    from percepiano.data import exam

    profile = config.profile(args.profile)
    names = (sorted(n for n, e in experiments.REGISTRY.items() if not e.benchmark
                    and n != exam.EXPERIMENT and experiments.stored(n, profile) is not None)
             if args.all else args.names)
    if not names:
        raise UserError("name an experiment (see `percepiano experiments`) or pass --all")
    for name in names:
        experiments.get(name)
        if experiments.stored(name, profile) is None:
            raise UserError(f"no stored results for {name} in profile {profile}; run "
                            f"`percepiano run {name} --profile {profile}`")
    moved = []
    for name in names:
        diffs = experiments.verify(name, profile, atol=args.atol)
        atol = experiments.get(name).atol if args.atol is None else args.atol
        if diffs:
            moved.append(name)
            print(f"{name} ({profile}): {len(diffs)} differences beyond atol={atol:g}")
            print("\n".join(f"  {d}" for d in diffs[:20]))
            if len(diffs) > 20:
                print(f"  ... and {len(diffs) - 20} more")
        else:
            print(f"{name} ({profile}): reproduced the stored numbers within atol={atol:g}")
    if moved:
        print(f"numbers moved in {', '.join(moved)}: if that was meant, bump each one's version "
              f"and run it again in every profile whose results are committed "
              f"(`percepiano run {' '.join(moved)} --profile {profile}`)")
    return 1 if moved else 0


SHORT = {"missing": "-"}  # the profile columns' word for no stored results


def cmd_experiments(args) -> int:
    rows, cells, by_commit = [], [], {}
    for name, exp in sorted(experiments.REGISTRY.items()):
        status, dirty, changed = {}, {}, {}
        for profile in config.PROFILES:
            res = experiments.stored(name, profile)
            status[profile] = store.status(name, profile, res=res)
            dirty[profile] = None if res is None else res.provenance.get("dirty")
            if res is not None:
                commit = res.provenance.get("commit") or ""
                if commit not in by_commit:
                    by_commit[commit] = (store.code_changes(res.provenance), [])
                changed[profile] = by_commit[commit][0]
                by_commit[commit][1].append(f"{profile}/{name}")
        rows.append({"experiment": name, "description": exp.description,
                     **{p: SHORT.get(s, s) for p, s in status.items()},
                     "status": status, "dirty": dirty, "code_changed_since": changed})
        cells.append({p: SHORT.get(s, s) + ("*" if dirty[p] else "") for p, s in status.items()})
    head = f"{'experiment':<22} {'smoke':<15} {'quick':<15} {'full':<15} description"
    lines = [f"{r['experiment']:<22} {c['smoke']:<15} {c['quick']:<15} {c['full']:<15} "
             f"{r['description']}" for r, c in zip(rows, cells, strict=True)]
    if any(d for r in rows for d in r["dirty"].values()):
        lines.append("* computed from a working tree with uncommitted changes")
    lines += _changes(by_commit)
    emit(rows, args.json, "\n".join([head, *lines]))
    return 0


def _changes(by_commit: dict) -> list[str]:
    """Lines saying, per commit results were computed at, which package files changed since."""
    out = []
    for commit, (files, results) in sorted(by_commit.items(), key=lambda kv: kv[1][1]):
        if files == []:
            continue
        shown = f"{len(results)} results" if len(results) > 4 else ", ".join(results)
        if files is None:
            out.append(f"  {commit[:8] or 'no commit'} ({shown}): git cannot tell what changed")
            continue
        names = ", ".join(f.removeprefix("percepiano/") for f in files[:6])
        more = f" and {len(files) - 6} more" if len(files) > 6 else ""
        out.append(f"  {commit[:8]} ({shown}): {len(files)} files: {names}{more}")
    return ["code changed since the results were computed (package files, from git):", *out] \
        if out else []
