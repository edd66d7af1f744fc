"""`percepiano bench`: the speed benchmark of the active profile (the ``bench`` experiment:
training step beside PyTorch eager, one cross-validation's wall time and peak memory, stored
with provenance); ``--preset`` times one model size ad hoc; ``--forest`` what one
cross-validated random forest on descriptors costs."""

from __future__ import annotations

import dataclasses
import os

from percepiano.cli.common import add_data_option, emit
from percepiano.config import PROFILES
from percepiano.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("bench", help="training speed of the AST here, beside PyTorch",
                       description="The speed benchmark of the active profile: for the default "
                                   "and tiny presets, the compiled training step on on-device "
                                   "data, the same model in PyTorch eager (when installed: "
                                   "pip install -e '.[torch]'), their ratio, achieved vs "
                                   "matmul GFLOP/s, 30 s inference latency, peak memory; then "
                                   "one 4-fold piece-split cross-validation of the default: "
                                   "wall time and peak memory. Writes "
                                   "results/<profile>/bench/ with provenance. With --preset: "
                                   "that preset's step figures only, nothing written. With "
                                   "--forest: one random-forest cross-validation instead.")
    p.add_argument("--profile", choices=PROFILES, help="default: $PERCEPIANO_PROFILE")
    p.add_argument("--preset", default=None,
                   help="time only this model size's training step (not stored)")
    p.add_argument("--batch", type=int, default=None, help="with --preset: batch size")
    p.add_argument("--steps", type=int, default=20, help="with --preset: steps per timed epoch")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--forest", action="store_true",
                   help="time a random-forest cross-validation instead of the AST")
    p.add_argument("--features", default="midi", choices=("midi", "audio", "both"),
                   help="descriptor set for --forest")
    p.add_argument("--per-dimension", action="store_true",
                   help="with --forest: one forest per dimension instead of the joint forest")
    p.add_argument("--json", action="store_true")
    add_data_option(p)
    p.set_defaults(func=_bench)


def _preset_lines(r: dict) -> list[str]:
    lines = [f"AST {r['preset']}: {r['params'] / 1e6:.2f} M parameters, {r['tokens']} tokens, "
             f"batch {r['batch']} on {r['devices']} {r['backend']} device(s) ({r['cpu']}, "
             f"{r['cores']} cores)",
             f"  compile {r['compile_s']:.1f} s; train step {r['step_s'] * 1e3:.1f} ms "
             f"({r['samples_per_s']:.0f} samples/s, compiled epoch, data on the device)",
             f"  {r['step_gflop']:.2f} GFLOP a step: {r['achieved_gflops']:.0f} GFLOP/s "
             f"achieved vs {r['matmul_gflops']:.0f} GFLOP/s fp32 matmul",
             f"  predict one 30 s segment: {r['predict_30s_s'] * 1e3:.0f} ms; "
             f"peak memory {r['peak_rss_mb']:.0f} MB"]
    if "torch_step_s" in r:
        lines.append(f"  PyTorch {r['torch_version']} eager, same model and batch "
                     f"({r['torch_threads']} thread(s), its faster): "
                     f"{r['torch_step_s'] * 1e3:.1f} ms a step; JAX time / PyTorch time = "
                     f"{r['jax_over_torch']:.2f}")
    else:
        lines.append("  PyTorch not installed (pip install -e '.[torch]'): no comparison")
    return lines


def _bench(args) -> int:
    if args.forest:
        return _bench_forest(args)
    from percepiano.models import ast

    if args.preset is not None:
        from percepiano.training import bench

        if args.preset not in ast.PRESETS:
            raise UserError(f"unknown preset {args.preset!r}; choose from "
                            f"{', '.join(ast.PRESETS)}")
        r = bench.bench(args.preset, batch_size=args.batch, steps=args.steps,
                        torch=not args.no_torch)
        emit(r, args.json, "\n".join(_preset_lines(r)))
        return 0
    from percepiano import experiments

    if args.data is not None:
        os.environ["PERCEPIANO_DATA"] = str(args.data)
    res = experiments.run("bench", args.profile)
    m = res.metrics
    lines = [line for r in m["presets"].values() for line in _preset_lines(r)]
    cv = m["cv"]
    lines += [f"cross-validation: AST {cv['preset']}, {cv['split']} split, k={cv['k']}, "
              f"{cv['epochs']} epochs, {cv['n_segments']} segments: {cv['cv_s']:.1f} s wall "
              f"(+ {cv['load_s']:.1f} s loading the spectrograms); peak memory "
              f"{cv['peak_rss_mb']:.0f} MB; fold-mean R² {cv['fold_mean_r2']:.3f}",
              f"written: {res.path}"]
    emit(m, args.json, "\n".join(lines))
    return 0


def _bench_forest(args) -> int:
    from percepiano.data import dataset
    from percepiano.models import forest

    cfg = forest.preset("quick")
    if args.per_dimension:
        cfg = dataclasses.replace(cfg, joint=False)
    r = forest.bench_cross_validation(dataset.load(args.data), args.features, "rf", cfg,
                                      progress=True)  # descriptors not cached yet take a while
    r["preset"] = "quick"
    kind = "joint forest" if r["joint"] else "one forest per dimension"
    lines = [f"random forest ({kind}, quick preset) on {r['features']} descriptors: "
             f"{r['n_features']} features, {r['n_segments']} segments, {r['split']} split, "
             f"k={r['k']}",
             f"wall {r['wall_s']:.1f} s per cross-validation; CPU {r['cpu_s']:.1f} s "
             f"({r['n_jobs']} jobs); {r['trees']} trees",
             f"fold-mean R² {r['fold_mean_r2']:.3f}, fold-mean r {r['fold_mean_r']:.3f}; "
             f"peak memory {r['peak_rss_mb']:.0f} MB",
             f"descriptor extraction not included (prepared beforehand in "
             f"{r['descriptors_s']:.1f} s; the timed run reads them back from the cache)"]
    emit(r, args.json, "\n".join(lines))
    return 0
