"""`percepiano bench`: how fast the AST trains and predicts on this machine, or (``--forest``)
what one cross-validated random forest on descriptors costs."""

from __future__ import annotations

import dataclasses

from percepiano.cli.common import add_data_option, emit
from percepiano.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("bench", help="training and inference speed of the AST here",
                       description="Compile time, step time, samples/s, achieved vs matmul "
                                   "GFLOP/s, 30 s inference latency, peak memory; PyTorch "
                                   "comparison when it is installed. With --forest: wall and "
                                   "CPU time, trees, mean R² and peak memory of one random-forest "
                                   "cross-validation (quick preset, piece split, 4 folds).")
    p.add_argument("--preset", default=None, help="model size (default: the CPU default)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: profile's)")
    p.add_argument("--steps", type=int, default=5, help="timed steps")
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


def _bench(args) -> int:
    if args.forest:
        return _bench_forest(args)
    from percepiano.models import ast
    from percepiano.training import bench

    preset = args.preset or ast.DEFAULT_PRESET
    if preset not in ast.PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose from {', '.join(ast.PRESETS)}")
    r = bench.bench(preset, batch_size=args.batch, steps=args.steps, torch=not args.no_torch)
    lines = [f"AST {r['preset']}: {r['params'] / 1e6:.2f} M parameters, {r['tokens']} tokens, "
             f"batch {r['batch']} on {r['devices']} {r['backend']} device(s)",
             f"compile {r['compile_s']:.1f} s; train step {r['step_s'] * 1e3:.0f} ms "
             f"({r['samples_per_s']:.0f} samples/s)",
             f"{r['step_gflop']:.2f} GFLOP a step: {r['achieved_gflops']:.1f} GFLOP/s achieved "
             f"vs {r['matmul_gflops']:.1f} GFLOP/s fp32 matmul",
             f"predict one 30 s segment: {r['predict_30s_s'] * 1e3:.0f} ms; "
             f"peak memory {r['peak_rss_mb']:.0f} MB"]
    if "torch_step_s" in r:
        lines.append(f"PyTorch, same model ({r['torch_threads']} thread(s), its faster): "
                     f"{r['torch_step_s'] * 1e3:.0f} ms a step; PyTorch time / JAX time = "
                     f"{r['jax_speedup_vs_torch']:.2f}")
    else:
        lines.append("PyTorch not installed: no comparison")
    emit(r, args.json, "\n".join(lines))
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
             f"mean R² {r['mean_r2']:.3f}, mean r {r['mean_r']:.3f}; "
             f"peak memory {r['peak_rss_mb']:.0f} MB",
             f"descriptor extraction not included (prepared beforehand in "
             f"{r['descriptors_s']:.1f} s; the timed run reads them back from the cache)"]
    emit(r, args.json, "\n".join(lines))
    return 0
