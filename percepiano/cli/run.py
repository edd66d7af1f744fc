"""``percepiano run``, ``verify`` and ``experiments``: compute, check and list named experiments.

    percepiano run data_ceiling                 # writes results/<profile>/data_ceiling/
    percepiano run --all --profile smoke        # every experiment but the benchmarks and the exam
    percepiano run final_exam                   # reads the locked final exam, once per profile
    percepiano verify identity_baselines        # exit 1 when a number moved beyond --atol
    percepiano verify --restamp ast_cv          # the same; if nothing moved, record this commit
    percepiano experiments                      # what exists, and what is stored per profile
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

    p = sub.add_parser("verify", help="re-run an experiment and compare with its stored numbers",
                       description="Re-run EXPERIMENT without storing and print every number "
                                   "that differs from the stored one by more than the "
                                   "tolerance; exit 1 if any does.")
    p.add_argument("name", metavar="EXPERIMENT")
    p.add_argument("--profile", choices=config.PROFILES, help="default: $PERCEPIANO_PROFILE")
    p.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance (default: the experiment's, 1e-6 for CPU code)")
    p.add_argument("--restamp", action="store_true",
                   help="when every number is reproduced and the working tree is clean, record "
                        "the current commit and code hash in provenance.json (the numbers stay)")
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
    name, profile = args.name, config.profile(args.profile)
    before = experiments.stored(name, profile)
    check = store.restamp if args.restamp else experiments.verify
    diffs = check(name, profile, atol=args.atol)
    atol = experiments.get(name).atol if args.atol is None else args.atol
    if diffs:
        print(f"{name} ({profile}): {len(diffs)} differences beyond atol={atol:g}")
        for d in diffs:
            print(f"  {d}")
        if args.restamp:
            print(f"{name} ({profile}): not restamped, the numbers moved; recompute them with "
                  f"`percepiano run {name} --profile {profile}`")
        return 1
    print(f"{name} ({profile}): reproduced the stored numbers within atol={atol:g}")
    if args.restamp:
        prov = experiments.stored(name, profile).provenance
        print(f"{name} ({profile}): restamped provenance.json with commit {prov['commit'][:8]} "
              f"and code hash {prov['code_hash']}")
    elif (state := store.status(name, profile, res=before)) != "current":
        changed = store.code_changes(name, before.provenance) if state == "stale (code)" else []
        where = f" ({', '.join(changed)})" if 0 < len(changed) <= 4 else ""
        print(f"{name} ({profile}): the stored results are {state}{where}; "
              f"`percepiano verify --restamp {name}` records the current code once committed")
    return 0


SHORT = {"current": "stored", "missing": "-"}  # the profile columns' words for two statuses


def cmd_experiments(args) -> int:
    rows, cells = [], []
    for name, exp in sorted(experiments.REGISTRY.items()):
        status, dirty = {}, {}
        for profile in config.PROFILES:
            res = experiments.stored(name, profile)
            status[profile] = store.status(name, profile, res=res)
            dirty[profile] = None if res is None else res.provenance.get("dirty")
        rows.append({"experiment": name, "description": exp.description,
                     **{p: SHORT.get(s, s) for p, s in status.items()},
                     "status": status, "dirty": dirty})
        cells.append({p: SHORT.get(s, s) + ("*" if dirty[p] else "") for p, s in status.items()})
    head = f"{'experiment':<22} {'smoke':<15} {'quick':<15} {'full':<15} description"
    lines = [f"{r['experiment']:<22} {c['smoke']:<15} {c['quick']:<15} {c['full']:<15} "
             f"{r['description']}" for r, c in zip(rows, cells, strict=True)]
    if any(d for r in rows for d in r["dirty"].values()):
        lines.append("* computed from a working tree with uncommitted changes")
    emit(rows, args.json, "\n".join([head, *lines]))
    return 0
