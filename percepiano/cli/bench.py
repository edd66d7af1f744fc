"""`percepiano bench`: how fast the AST trains and predicts on this machine."""

from __future__ import annotations

from percepiano.cli.common import emit
from percepiano.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("bench", help="training and inference speed of the AST here",
                       description="Compile time, step time, samples/s, achieved vs matmul "
                                   "GFLOP/s, 30 s inference latency, peak memory; PyTorch "
                                   "comparison when it is installed.")
    p.add_argument("--preset", default=None, help="model size (default: the CPU default)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: profile's)")
    p.add_argument("--steps", type=int, default=5, help="timed steps")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bench)


def _bench(args) -> int:
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
