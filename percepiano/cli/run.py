"""``percepiano run``, ``verify`` and ``experiments``: compute, check and list named experiments.

    percepiano run data_ceiling                 # writes results/<profile>/data_ceiling/
    percepiano run --all --profile smoke
    percepiano verify identity_baselines        # exit 1 when a number moved beyond --atol
    percepiano experiments                      # what exists, and what is stored per profile
"""

from __future__ import annotations

from percepiano import config, experiments
from percepiano.cli.common import emit
from percepiano.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("run", help="run named experiments and store their results",
                       description="Run experiments in the active profile (PERCEPIANO_PROFILE "
                                   "or --profile) and write results/<profile>/<experiment>/.")
    p.add_argument("names", nargs="*", metavar="EXPERIMENT")
    p.add_argument("--all", action="store_true", help="run every registered experiment")
    p.add_argument("--profile", choices=config.PROFILES, help="default: $PERCEPIANO_PROFILE")
    p.add_argument("--json", action="store_true", help="print the headline numbers as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("verify", help="re-run an experiment and compare with its stored numbers",
                       description="Re-run EXPERIMENT without storing and print every number "
                                   "that differs from the stored one by more than the "
                                   "tolerance; exit 1 if any does.")
    p.add_argument("name", metavar="EXPERIMENT")
    p.add_argument("--profile", choices=config.PROFILES, help="default: $PERCEPIANO_PROFILE")
    p.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance (default: the experiment's, 1e-6 for CPU code)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("experiments", help="list the named experiments and their stored results")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_experiments)


def cmd_run(args) -> int:
    names = sorted(experiments.REGISTRY) if args.all else args.names
    if not names:
        raise UserError("name an experiment (see `percepiano experiments`) or pass --all")
    for name in names:
        experiments.get(name)  # unknown names fail before anything runs
    out = []
    for name in names:
        res = experiments.run(name, args.profile)
        out.append({"experiment": name, "profile": res.profile, "mean_r2": res["mean_r2"],
                    "mean_r": res["mean_r"], "wall_time_s": res.provenance["wall_time_s"],
                    "path": str(res.path)})
    lines = [f"{o['experiment']:<24} {o['profile']:<6} mean R² {o['mean_r2']:+.4f}  "
             f"mean r {o['mean_r']:+.4f}  {o['wall_time_s']:8.1f} s  -> {o['path']}" for o in out]
    emit(out, args.json, "\n".join(lines))
    return 0


def cmd_verify(args) -> int:
    profile = config.profile(args.profile)
    diffs = experiments.verify(args.name, profile, atol=args.atol)
    atol = experiments.get(args.name).atol if args.atol is None else args.atol
    if diffs:
        print(f"{args.name} ({profile}): {len(diffs)} differences beyond atol={atol:g}")
        for d in diffs:
            print(f"  {d}")
        return 1
    print(f"{args.name} ({profile}): reproduced the stored numbers within atol={atol:g}")
    return 0


def cmd_experiments(args) -> int:
    rows = []
    for name, exp in sorted(experiments.REGISTRY.items()):
        state = {}
        for profile in config.PROFILES:
            res = experiments.stored(name, profile)
            if res is None:
                state[profile] = "-"
            else:
                current = res.provenance.get("config_hash") == experiments.plan(name, profile)[1]
                state[profile] = "stored" if current else "stale"
        rows.append({"experiment": name, "description": exp.description, **state})
    head = f"{'experiment':<22} {'smoke':<7} {'quick':<7} {'full':<7} description"
    lines = [f"{r['experiment']:<22} {r['smoke']:<7} {r['quick']:<7} {r['full']:<7} "
             f"{r['description']}" for r in rows]
    emit(rows, args.json, "\n".join([head, *lines]))
    return 0
