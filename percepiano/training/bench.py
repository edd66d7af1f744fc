"""How fast the AST trains and predicts here, beside what this machine's matmuls can do, and
beside the same model in PyTorch eager.

``bench(preset)`` reports, for one size preset, how the training really runs: the compiled epoch
(``steps.train_epoch``) over a packed, on-device training set of synthetic segments, crops cut
on the device. Figures: compile time, seconds per step (epoch time / steps, median of repeats),
samples per second, the step's FLOPs (XLA's ``cost_analysis`` of one compiled step) and the
GFLOP/s achieved, this machine's measured fp32 matmul GFLOP/s, the latency of predicting one
30-second segment (whole-segment crop grid) and peak resident memory. When PyTorch is
importable (``pip install -e '.[torch]'``), the same training step of a PyTorch model of
identical shape (same input, patching, positions, RoPE, blocks, AdamW + clipping) is timed in
eager mode in the same run, on a batch already in memory, at its faster thread count (1 or its
default), and given as a ratio.

``cv_benchmark(preset)`` times one k-fold cross-validation of the real data in a fresh process
(``spawn``), so its peak memory is its own: loading the pooled spectrograms, then the folds.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from percepiano.models import ast
from percepiano.training import train
from percepiano.training.batches import Normaliser, bucket, epoch_plan, pack
from percepiano.training.steps import (
    TrainConfig,
    loss_fn,
    make_optimizer,
    train_epoch,
)


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "backend": jax.default_backend(),
            "devices": jax.device_count(), "device_kind": jax.devices()[0].device_kind}


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


def step_flops(model, optimizer, x, y, key) -> float:
    """FLOPs of one training step (forward, backward, AdamW), from XLA's cost analysis."""
    graphdef, state = nnx.split((model, optimizer))

    def pure(state, x, y, key):
        m, o = nnx.merge(graphdef, state)
        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(m, x, y, key)
        o.update(m, grads)
        return loss, nnx.state((m, o))

    cost = jax.jit(pure).lower(state, x, y, key).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))


def synthetic_inputs(cfg: ast.ASTConfig, n: int, seed: int = 0) -> dict:
    """``n`` random model inputs of 0.8 to 2.5 crops (short ones are tiled, as real ones)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(int(0.8 * cfg.input_frames), int(2.5 * cfg.input_frames), n)
    return {f"s{i}": rng.normal(-40, 10, (t, cfg.bands)).astype(np.float32)
            for i, t in enumerate(lengths)}


def bench(name: str = ast.DEFAULT_PRESET, batch_size: int | None = None, steps: int = 20,
          repeats: int = 3, torch: bool = True, **overrides) -> dict:
    """Speed figures for preset ``name`` (see the module docstring); all numbers positive."""
    cfg = ast.preset(name, **overrides)
    tc = TrainConfig(**({"batch_size": batch_size} if batch_size else {}))
    bs = tc.batch_size
    inputs = synthetic_inputs(cfg, bs * steps)
    names = list(inputs)
    norm = Normaliser(-40.0, 10.0, (0.5,) * cfg.n_outputs, (0.1,) * cfg.n_outputs)
    packed = pack(inputs, names, norm, cfg.input_frames)
    frames = jax.device_put(packed.frames)
    y = np.random.default_rng(1).normal(size=(len(names), cfg.n_outputs)).astype(np.float32)
    model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
    optimizer = make_optimizer(model, tc, 1000)
    rows = bucket(steps, 8)

    def epoch(e):
        starts, yb = epoch_plan(packed, y, tc, e, steps, rows)
        graphdef, state = nnx.split((model, optimizer))
        state, losses = train_epoch(graphdef, state, frames, starts, yb, steps,
                                    jax.random.key(0), e * steps, crop=cfg.input_frames)
        losses.block_until_ready()
        nnx.update((model, optimizer), state)

    first = _timed(lambda: epoch(0))
    times = [_timed(lambda e=e: epoch(e)) for e in range(1, repeats + 1)]
    step_s = float(np.median(times)) / steps
    x = jnp.asarray(packed.frames[:bs * cfg.input_frames].reshape(bs, cfg.input_frames, -1))
    flops = step_flops(model, optimizer, x, jnp.asarray(y[:bs]), jax.random.key(0))
    seg = {"seg": np.random.default_rng(2).normal(-40, 10, (750, cfg.bands))}  # 30 s at 40 ms
    train.predict(model, seg, ["seg"], norm, tc)
    latency = min(_timed(lambda: train.predict(model, seg, ["seg"], norm, tc)) for _ in range(3))
    out = {
        "preset": name, "params": ast.n_params(model), "tokens": cfg.n_tokens, "batch": bs,
        "steps_per_epoch": steps, **machine(),
        "compile_s": max(first - step_s * steps, 0.0), "step_s": step_s,
        "samples_per_s": bs / step_s, "step_gflop": flops / 1e9,
        "achieved_gflops": flops / step_s / 1e9, "matmul_gflops": matmul_gflops(),
        "predict_30s_s": latency,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if torch:
        try:
            import torch as _torch
        except ImportError:
            return out
        # on a shared CPU, PyTorch's spinning OpenMP threads can be slower than one thread:
        # time both and keep the faster, so the comparison is with PyTorch at its best
        default = _torch.get_num_threads()
        by_threads = {t: torch_step_seconds(cfg, bs, max(5, steps // 2), threads=t)
                      for t in sorted({1, default})}
        threads = min(by_threads, key=by_threads.get)
        out.update(torch_version=_torch.__version__, torch_step_s=by_threads[threads],
                   torch_threads=threads, jax_over_torch=step_s / by_threads[threads])
    return out


def torch_model(cfg: ast.ASTConfig):
    """The same AST in PyTorch: the same input (B, T, F) at the model's resolution, patch
    embedding, positions, RoPE, pre-norm blocks, mean pooling or CLS, the shared linear head."""
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
            self.mlp = nn.Sequential(nn.Linear(cfg.dim, hidden), nn.GELU(approximate="tanh"),
                                     nn.Dropout(cfg.dropout), nn.Linear(hidden, cfg.dim))
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

        def forward(self, x):                                      # (B, T, F)
            z = self.patch(x.transpose(1, 2)[:, None]).permute(0, 2, 3, 1)  # (B, nf, nt, D)
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
    x = torch.randn(batch, cfg.input_frames, cfg.bands)
    y = torch.randn(batch, cfg.n_outputs)

    def step():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()
    return float(np.median([_timed(step) for _ in range(steps)]))


# ---------------------------------------------------------------- one real cross-validation


def cv_benchmark(preset: str = ast.DEFAULT_PRESET, split: str = "piece", k: int = 4,
                 seed: int = 0, max_segments: int | None = None, data=None) -> dict:
    """Wall time, peak memory and scores of one k-fold cross-validation of the AST on the real
    data (development part), with the active profile's training settings, in a fresh process."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_cv_child, (preset, split, k, seed, max_segments,
                                      None if data is None else str(data)))


def _cv_child(preset, split, k, seed, max_segments, data) -> dict:
    from percepiano.audio import spectrogram
    from percepiano.data import dataset
    from percepiano.evaluation import cross_validation

    cfg = ast.preset(preset)
    start = time.perf_counter()
    ds = dataset.subset(dataset.load(data), max_segments)
    inputs = spectrogram.compute_dataset(ds, progress=False,
                                         transform=lambda s: ast.pool_input(s, cfg))
    loaded = time.perf_counter()
    tc = TrainConfig(seed=seed)
    res = cross_validation.cross_validate(
        ds, split, k, seed, train.make_fit_predict(inputs, ds.labels, cfg, tc), progress=False)
    done = time.perf_counter()
    return {"preset": preset, "split": split, "k": k, "seed": seed, "epochs": tc.epochs,
            "n_segments": len(ds.names), "load_s": loaded - start, "cv_s": done - loaded,
            "fold_mean_r2": res["fold_mean_r2"], "fold_mean_r": res["fold_mean_r"],
            "pooled_r2": res["pooled"]["mean_r2"], "pooled_pairwise": res["pooled"].get(
                "mean_pairwise", float("nan")),
            "peak_rss_mb": _own_peak_mb()}


def _own_peak_mb() -> float:
    """This process's own peak resident memory: ``VmHWM`` belongs to its address space, where
    ``ru_maxrss`` of a spawned child keeps the parent's peak across ``exec``."""
    try:
        with open("/proc/self/status") as f:
            line = next(ln for ln in f if ln.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
