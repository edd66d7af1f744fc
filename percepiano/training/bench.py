"""How fast the AST trains and predicts here, beside what this machine's matmuls can do.

``bench(preset)`` reports, for one size preset: compile time of the training step, seconds per
step, samples per second, the step's FLOPs (XLA's ``cost_analysis`` of the compiled step) and the
GFLOP/s achieved, this machine's measured fp32 matmul GFLOP/s, the latency of predicting one
30-second segment (whole-segment crop grid), and peak resident memory. When PyTorch is
importable, the same training step of a PyTorch model of identical shape (same patching,
positions, RoPE, blocks, AdamW + clipping) is timed in the same run and given as a ratio.

Measured here with ``percepiano bench`` (2-core CPU shared with other jobs, so +-50 % from run
to run; JAX 0.10 and PyTorch 2.13 CPU builds), batch 32, 16 s crops = 50 tokens:

    preset  params  compile  step    samples/s  GFLOP/step  GFLOP/s  matmul  30 s     torch
    micro   0.18 M  7 s      88 ms   364        2.0         23       105     0.10 s   72 ms
    tiny    1.06 M  8 s      323 ms  99         11.1        34       107     0.22 s   316 ms

(GFLOP/s: achieved by the JAX step; matmul: this machine's fp32 matmul GFLOP/s; 30 s: predicting
one 30 s segment; torch: the same step in PyTorch on its faster thread count, which was 1: with
its default 2 threads on the loaded machine it took 0.6-8 s, OpenMP threads spinning against
other jobs. So on this CPU JAX and PyTorch are at parity for these sizes.)

For scale, a 2 M-parameter AST on 496 tokens (10 s crops at full resolution, batch 16) needs
~2.1 s a step. The speed/accuracy trade-off that fixed the default (scored on the nested
validation part of one fold, which is test data of the other folds) is tabulated beside
``DEFAULT_PRESET`` in ``percepiano.models.ast``.
"""

from __future__ import annotations

import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from percepiano.models import ast
from percepiano.training import train
from percepiano.training.batches import Normaliser
from percepiano.training.steps import TrainConfig, loss_fn, make_optimizer, train_step


def matmul_gflops(n: int = 1024, repeats: int = 10) -> float:
    """Measured fp32 GFLOP/s of an (n x n) @ (n x n) product (best of ``repeats``)."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = min(_timed(lambda: f(a).block_until_ready()) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def step_flops(model, optimizer, x, y, key) -> tuple[float, float]:
    """(FLOPs of one training step from XLA's cost analysis, compile seconds)."""
    graphdef, state = nnx.split((model, optimizer))

    def pure(state, x, y, key):
        m, o = nnx.merge(graphdef, state)
        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(m, x, y, key)
        o.update(m, grads)
        return loss, nnx.state((m, o))

    t = time.perf_counter()
    compiled = jax.jit(pure).lower(state, x, y, key).compile()
    seconds = time.perf_counter() - t
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan"))), seconds


def bench(name: str = ast.DEFAULT_PRESET, batch_size: int | None = None, steps: int = 5,
          torch: bool = True, **overrides) -> dict:
    """Speed figures for preset ``name`` (see the module docstring); all numbers positive."""
    cfg = ast.preset(name, **overrides)
    tc = TrainConfig(**({"batch_size": batch_size} if batch_size else {}))
    bs = tc.batch_size
    model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
    optimizer = make_optimizer(model, tc, 1000)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(bs, cfg.n_mels, cfg.crop_frames)).astype(np.float32))
    y = jnp.asarray(rng.normal(size=(bs, cfg.n_outputs)).astype(np.float32))
    flops, _ = step_flops(model, optimizer, x, y, jax.random.key(0))
    compile_s = _timed(lambda: train_step(model, optimizer, x, y,
                                                jax.random.key(0)).block_until_ready())
    times = [_timed(lambda i=i: train_step(model, optimizer, x, y,
                                                 jax.random.key(i)).block_until_ready())
             for i in range(1, steps + 1)]
    step_s = float(np.median(times))
    seg = {"seg": rng.normal(-40, 10, (cfg.n_mels, 3000)).astype(np.float16)}  # 30 s at 10 ms
    norm = Normaliser(-40.0, 10.0, (0.5,) * cfg.n_outputs, (0.1,) * cfg.n_outputs)
    train.predict(model, seg, ["seg"], norm, tc)
    latency = min(_timed(lambda: train.predict(model, seg, ["seg"], norm, tc)) for _ in range(3))
    out = {
        "preset": name, "params": ast.n_params(model), "tokens": cfg.n_tokens, "batch": bs,
        "devices": jax.device_count(), "backend": jax.default_backend(),
        "compile_s": compile_s, "step_s": step_s, "samples_per_s": bs / step_s,
        "step_gflop": flops / 1e9, "achieved_gflops": flops / step_s / 1e9,
        "matmul_gflops": matmul_gflops(), "predict_30s_s": latency,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if torch:
        try:
            import torch as _torch
        except ImportError:
            return out
        # on a shared CPU, PyTorch's spinning OpenMP threads can be far slower than one thread:
        # time both and keep the faster, so the comparison is with PyTorch at its best
        default = _torch.get_num_threads()
        by_threads = {t: torch_step_seconds(cfg, bs, steps, threads=t)
                      for t in sorted({1, default})}
        threads = min(by_threads, key=by_threads.get)
        out.update(torch_step_s=by_threads[threads], torch_threads=threads,
                   jax_speedup_vs_torch=by_threads[threads] / step_s)
    return out


def torch_model(cfg: ast.ASTConfig):
    """The same AST in PyTorch (mean pooling over patches or CLS, the shared linear head)."""
    import torch
    from torch import nn

    nf, nt = cfg.grid
    hd = cfg.dim // cfg.heads

    def rope(x, pos):  # x (B, H, N, hd)
        inv = cfg.rope_base ** (-torch.arange(hd // 2, dtype=torch.float32) / (hd // 2))
        ang = pos.float()[:, None] * inv[None, :]
        cos, sin = ang.cos(), ang.sin()
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
            self.qkv, self.out = nn.Linear(cfg.dim, 3 * cfg.dim), nn.Linear(cfg.dim, cfg.dim)
            hidden = int(cfg.dim * cfg.mlp_ratio)
            self.mlp = nn.Sequential(nn.Linear(cfg.dim, hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                                     nn.Linear(hidden, cfg.dim))
            self.drop = nn.Dropout(cfg.dropout)

        def forward(self, x, pos):
            b, n, d = x.shape
            q, k, v = self.qkv(self.n1(x)).reshape(b, n, 3, cfg.heads, hd).permute(2, 0, 3, 1, 4)
            if pos is not None:
                q, k = rope(q, pos), rope(k, pos)
            w = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5, dim=-1)
            x = x + self.drop(self.out((w @ v).transpose(1, 2).reshape(b, n, d)))
            return x + self.mlp(self.n2(x))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(1, cfg.dim, cfg.patch, cfg.stride)
            shape = {"learned": (1, nf, nt, cfg.dim), "spectro": (1, nf, 1, cfg.dim)}
            self.pos = (nn.Parameter(torch.zeros(shape[cfg.positional]))
                        if cfg.positional in shape else None)
            self.cls = nn.Parameter(torch.zeros(1, 1, cfg.dim)) if cfg.pooling == "cls" else None
            self.blocks = nn.ModuleList([Block() for _ in range(cfg.depth)])
            self.norm, self.head = nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.n_outputs)

        def forward(self, x):
            x = nn.functional.avg_pool2d(x[:, None], (cfg.freq_pool, cfg.time_pool))
            z = self.patch(x).permute(0, 2, 3, 1)                 # (B, nf, nt, D)
            if self.pos is not None:
                z = z + self.pos
            z = z.reshape(z.shape[0], nf * nt, -1)
            pos = torch.arange(nt).repeat(nf) if cfg.positional == "spectro" else None
            if self.cls is not None:
                z = torch.cat([self.cls.expand(z.shape[0], -1, -1), z], dim=1)
                pos = None if pos is None else torch.cat([torch.zeros(1, dtype=pos.dtype), pos])
            for blk in self.blocks:
                z = blk(z, pos)
            z = self.norm(z)
            return self.head(z[:, 0] if self.cls is not None else z.mean(1))

    torch.manual_seed(0)
    return Model()


def torch_step_seconds(cfg: ast.ASTConfig, batch: int, steps: int = 5,
                       threads: int | None = None) -> float:
    """Median seconds of one AdamW step (clipped) of ``torch_model(cfg)`` on ``threads``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        return _torch_step(torch, cfg, batch, steps)
    finally:
        torch.set_num_threads(before)


def _torch_step(torch, cfg, batch, steps):
    model = torch_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    x = torch.randn(batch, cfg.n_mels, cfg.crop_frames)
    y = torch.randn(batch, cfg.n_outputs)

    def step():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()
    return float(np.median([_timed(step) for _ in range(steps)]))
