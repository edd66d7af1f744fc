"""Audio Spectrogram Transformer (AST) for the 19 PercePiano dimensions.

Gong, Chung & Glass (2021), "AST: Audio Spectrogram Transformer", Interspeech: a log-mel
spectrogram is cut into (possibly overlapping) patches, each patch becomes a token, and a ViT
encoder (Dosovitskiy et al., 2021) reads the tokens. Here the encoder is sized for a CPU and the
input may first be average-pooled in frequency and time, so a crop is a few dozen tokens.

Three positional encodings:

* ``learned`` -- one learned vector per (frequency, time) patch position, as in AST;
* ``sincos`` -- fixed 2-D sinusoids, half the width for frequency and half for time;
* ``spectro`` -- designed for spectrograms: a learned embedding of the (absolute) frequency band
  is added to each token, and time enters only through rotary embeddings (RoPE, Su et al. 2021)
  of queries and keys, so attention between patches depends on their time *difference*: time is
  translation-invariant and crops may differ in length.

Stochastic depth is from Huang et al. (2016). ``ASTModel(x)`` returns ``(predictions,
intermediates)``; the intermediates hold the token embeddings, the pooled embedding and each
layer's attention weights, so analysis never needs hooks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from percepiano.data.dataset import CATEGORIES, CATEGORY_NAMES, DIMENSIONS

POSITIONAL = ("learned", "sincos", "spectro")
POOLING = ("cls", "mean")
HEADS = ("shared", "category")


@dataclass(frozen=True)
class ASTConfig:
    """Shape of the model; the comment on each field says why it has its default."""

    n_mels: int = 128           # the cached log-mel has 128 bands (AST convention)
    freq_pool: int = 2          # average pairs of bands: 64 bands keep the timbre, halve tokens
    time_pool: int = 4          # 10 ms hop -> 40 ms frames: note onsets survive, 4x fewer tokens
    crop_frames: int = 1600     # 16 s crops (10 ms frames): the median segment is 12 s, and
                                # longer context beat 6-12 s crops on validation (table below)
    patch: tuple[int, int] = (64, 8)    # (bands, frames) after pooling: one token = all 64 bands
                                        # x 320 ms; beat 16-band patches on validation, 2x faster
    stride: tuple[int, int] = (64, 8)   # no overlap: overlap multiplies tokens on a CPU
    dim: int = 128              # token width
    depth: int = 4              # encoder blocks
    heads: int = 4              # 32-wide heads: enough for RoPE's frequency pairs
    mlp_ratio: float = 4.0      # ViT's MLP width
    dropout: float = 0.1        # on attention output and MLP; 900 training segments overfit fast
    drop_path: float = 0.1      # stochastic depth (maximum rate, last block); same reason
    positional: str = "spectro"  # time-shift invariant, any crop length; see module docstring
    pooling: str = "mean"       # mean over patches keeps RoPE's invariance; "cls" as in ViT/AST
    head: str = "shared"        # one linear map for the 19 dims; "category": a small MLP each
    head_hidden: int = 32       # width of each per-category head
    rope_base: float = 100.0    # longest RoPE period ~ 100 x 2 pi patches: spans a whole segment
    n_outputs: int = len(DIMENSIONS)  # the 19 PercePiano dimensions

    def __post_init__(self):
        for field, allowed in (("positional", POSITIONAL), ("pooling", POOLING),
                               ("head", HEADS)):
            if getattr(self, field) not in allowed:
                raise ValueError(f"unknown {field} {getattr(self, field)!r}; "
                                 f"choose from {', '.join(allowed)}")
        if self.n_mels % self.freq_pool or self.dim % self.heads:
            raise ValueError("n_mels must divide by freq_pool and dim by heads")
        if (self.dim // self.heads) % 2:
            raise ValueError("head width dim // heads must be even (RoPE rotates pairs)")

    @property
    def grid(self) -> tuple[int, int]:
        """Number of patches (frequency, time) in one crop."""
        return self.grid_for(self.crop_frames)

    def grid_for(self, frames: int) -> tuple[int, int]:
        """Number of patches (frequency, time) for an input of ``frames`` raw frames."""
        f, t = self.n_mels // self.freq_pool, frames // self.time_pool
        if f < self.patch[0] or t < self.patch[1]:
            raise ValueError(f"input of {frames} frames is shorter than one patch")
        (pf, pt), (sf, st) = self.patch, self.stride
        return (f - pf) // sf + 1, (t - pt) // st + 1

    @property
    def bands(self) -> int:
        """Frequency bands of the model's input (after ``freq_pool``)."""
        return self.n_mels // self.freq_pool

    @property
    def input_frames(self) -> int:
        """Frames of the model's input crop (after ``time_pool``)."""
        return self.crop_frames // self.time_pool

    @property
    def n_tokens(self) -> int:
        nf, nt = self.grid
        return nf * nt + (self.pooling == "cls")


# Sizes from ~0.2 M to ~30 M parameters, plus AST's reference (ViT-Base on 16x16 patches with
# stride 10 on the full-resolution 128-band spectrogram, learned positions, CLS pooling).
PRESETS: dict[str, dict] = {
    "nano": dict(dim=32, depth=2, heads=1),                 # ~0.04 M: under 100 per sample
    "micro": dict(dim=64, depth=3, heads=2),                # ~0.18 M: the CPU cross-validation
    "mini": dict(dim=96, depth=4, heads=3),                 # ~0.46 M
    "tiny": dict(dim=128, depth=5, heads=4),                # ~1.1 M
    "small": dict(dim=256, depth=6, heads=4),               # ~4.9 M
    "medium": dict(dim=384, depth=8, heads=6),              # ~14 M
    "large": dict(dim=512, depth=10, heads=8),              # ~32 M
    "base": dict(dim=768, depth=12, heads=12, freq_pool=1, time_pool=1, crop_frames=1024,
                 patch=(16, 16), stride=(10, 10), positional="learned", pooling="cls"),
}
DEFAULT_PRESET = "micro"
# How the CPU default was chosen: piece split, fold 0, scored on its *nested validation* fold
# (721 training / 185 validation segments; not fold 0's test fold, but test data of folds 1-3,
# so this choice is to be made again inside the training folds), one seed, "micro" (dim 64,
# depth 3), spectro positions, mean pooling, AdamW 1e-3, 15 epochs; seconds per epoch on the
# shared 2-core CPU (other jobs running, so +-30 %).
#
#   tokens (after 2x4 pooling)       crop   tokens  best val r  its val R2  s/epoch
#   16 bands x 320 ms (lr 5e-4, 20 ep)  8 s    100      0.381      0.101       9.5
#   16 bands x 320 ms                   6 s     72      0.358      0.087       7.3
#   64 bands x 160 ms                   8 s     50      0.407      0.114       7.1
#    + category heads, dropout 0.2      8 s     50      0.369      0.107       6.5
#   64 bands x 160 ms                  12 s     75      0.442      0.138      13.3 (load 8)
#    + dim 96                          12 s     75      0.431      0.132       8.5
#   64 bands x 320 ms  (default)       16 s     50      0.454      0.132       5.8
#    same, seed 1                      16 s     50      0.465      0.186       3.7
#    + 25 epochs (early-stopped at 14)  16 s     50      0.461      0.147       4.4
#    + dropout 0.2, drop path 0.2      16 s     50      0.436      0.102       4.8
#    learned positions                 16 s     50      0.447        -         4.8
#    sincos positions                  16 s     50      0.451      0.154       4.4
#    CLS pooling                       16 s     50      0.439      0.153       4.3
#   64 bands x 320 ms                  24 s     75      0.438      0.121       6.5
#
# Seed-to-seed spread (~0.01 in r, ~0.05 in R2) is as large as most differences here; with
# whole-band tokens the three positional encodings are equivalent within it.
#
# The default, cross-validated once (4 folds, seed 0, quick profile, test folds): piece split
# mean R2 0.162, mean r 0.476 in 318 s; performer split mean R2 0.262, mean r 0.550 in 323 s.


def preset(name: str, **overrides) -> ASTConfig:
    """The named size preset, with optional field overrides."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return dataclasses.replace(ASTConfig(**PRESETS[name]), **overrides)


def pool_input(x, cfg: ASTConfig):
    """Log-mel spectrograms (..., n_mels, T) -> the model's input (..., T // tp, n_mels / fp).

    Average-pooled in frequency and time and laid out time-major, so that a patch of whole-band
    tokens is a contiguous block of memory. The data pipeline pools each segment once (NumPy in,
    float32 NumPy out), so the model never sees the full-resolution spectrogram: pooling a
    10-ms, 128-band batch inside the compiled step cost more than the rest of the micro preset's
    forward pass. Pooling commutes with the affine normalisation.
    """
    *lead, f, t = x.shape
    fp, tp = cfg.freq_pool, cfg.time_pool
    t = t - t % tp
    xs = x[..., :t].astype(np.float32) if isinstance(x, np.ndarray) else x[..., :t]
    pooled = xs.reshape(*lead, f // fp, fp, t // tp, tp).mean(axis=(-3, -1))
    return pooled.swapaxes(-1, -2)


def sincos_2d(nf: int, nt: int, dim: int) -> jax.Array:
    """Fixed 2-D sinusoidal positions (nf * nt, dim): first half encodes frequency, second time."""
    def axis(n, d):
        freqs = 1.0 / (10000.0 ** (np.arange(d // 2) / (d // 2)))
        ang = np.arange(n)[:, None] * freqs[None, :]
        return np.concatenate([np.sin(ang), np.cos(ang)], axis=1)
    half = dim // 2
    f = np.repeat(axis(nf, half), nt, axis=0)
    t = np.tile(axis(nt, dim - half), (nf, 1))
    return jnp.asarray(np.concatenate([f, t], axis=1), dtype=jnp.float32)


def rope(x: jax.Array, pos: jax.Array, base: float) -> jax.Array:
    """Rotate feature pairs ``(i, i + hd/2)`` of ``x`` (..., N, H, hd) by angles
    ``pos * base^(-2i/hd)`` (RoPE, in the half-split layout)."""
    hd = x.shape[-1]
    inv = base ** (-jnp.arange(hd // 2, dtype=jnp.float32) / (hd // 2))
    ang = pos.astype(jnp.float32)[:, None] * inv[None, :]            # (N, hd/2)
    lead = (1,) * (x.ndim - 3)                                        # explicit ranks
    cos = jnp.cos(ang)[:, None, :].reshape(lead + (-1, 1, hd // 2))   # (..., N, 1, hd/2)
    sin = jnp.sin(ang)[:, None, :].reshape(lead + (-1, 1, hd // 2))
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def _fmix32(h: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finaliser: every input bit flips each output bit with p ~ 1/2."""
    h = (h ^ (h >> 16)) * jnp.uint32(0x85EBCA6B)
    h = (h ^ (h >> 13)) * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    """Inverted dropout whose mask hashes each element's index with two words drawn from ``key``.

    Threefry bits for every activation took a quarter of the micro preset's training step on a
    CPU; a counter-based hash (MurmurHash3's finaliser, applied twice) fuses into the
    multiplication and is statistically ample for dropout. Deterministic given ``key``."""
    if key is None or rate == 0.0:
        return x
    seed = jax.random.bits(key, (2,), jnp.uint32)
    index = jax.lax.iota(jnp.uint32, x.size).reshape(x.shape)
    h = _fmix32(_fmix32(index * jnp.uint32(0x9E3779B1) ^ seed[0]) ^ seed[1])
    keep = h >= jnp.uint32(min(int(rate * 2.0 ** 32), 2 ** 32 - 1))
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def drop_path(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    """Stochastic depth: drop the whole residual branch of a sample with probability ``rate``."""
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, (x.shape[0],) + (1,) * (x.ndim - 1))
    return jnp.where(keep, x / (1.0 - rate), 0.0)


class Attention(nnx.Module):
    """Multi-head self-attention returning its weights; optional RoPE on a time position."""

    def __init__(self, cfg: ASTConfig, *, rngs: nnx.Rngs):
        self.heads, self.rope_base = cfg.heads, cfg.rope_base
        self.qkv = nnx.Linear(cfg.dim, 3 * cfg.dim, rngs=rngs)
        self.out = nnx.Linear(cfg.dim, cfg.dim, rngs=rngs)
        self.dropout = cfg.dropout

    def __call__(self, x, time_pos=None, *, key=None):
        """x (B, N, D), time_pos (N,) or None -> (out (B, N, D), weights (B, H, N, N))."""
        b, n, d = x.shape
        qkv = self.qkv(x.reshape(b * n, d))                              # 2-D: see Block
        q, k, v = jnp.split(qkv.reshape(b, n, 3, self.heads, d // self.heads), 3, axis=2)
        q, k, v = q[:, :, 0], k[:, :, 0], v[:, :, 0]                   # (B, N, H, hd)
        if time_pos is not None:
            q, k = rope(q, time_pos, self.rope_base), rope(k, time_pos, self.rope_base)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(jnp.float32(d // self.heads))
        weights = jax.nn.softmax(scores, axis=-1)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b * n, d)
        out = dropout(self.out(out), self.dropout, key)
        return out.reshape(b, n, d), weights


class Block(nnx.Module):
    """Pre-norm transformer block with stochastic depth on both residual branches."""

    def __init__(self, cfg: ASTConfig, drop_rate: float, *, rngs: nnx.Rngs):
        self.drop_rate = drop_rate
        self.norm1 = nnx.LayerNorm(cfg.dim, rngs=rngs)
        self.norm2 = nnx.LayerNorm(cfg.dim, rngs=rngs)
        self.attn = Attention(cfg, rngs=rngs)
        hidden = int(cfg.dim * cfg.mlp_ratio)
        self.fc1, self.fc2 = nnx.Linear(cfg.dim, hidden, rngs=rngs), nnx.Linear(hidden, cfg.dim,
                                                                                 rngs=rngs)
        self.dropout = cfg.dropout

    def __call__(self, x, time_pos=None, *, key=None):
        keys = [None] * 4 if key is None else list(jax.random.split(key, 4))
        a, weights = self.attn(self.norm1(x), time_pos, key=keys[0])
        x = x + drop_path(a, self.drop_rate, keys[1])
        # the MLP sees tokens as one (B * N, D) matrix: with a 3-D input the kernel gradients
        # contract two axes and XLA's CPU backend transposes the activations in a slow loop
        # (3.4x slower fwd+bwd for the micro preset's MLP)
        b, n, d = x.shape
        h = self.fc1(self.norm2(x).reshape(b * n, d))
        h = dropout(jax.nn.gelu(h), self.dropout, keys[2])
        x = x + drop_path(self.fc2(h).reshape(b, n, d), self.drop_rate, keys[3])
        return x, weights


class CategoryHead(nnx.Module):
    """One small MLP per perceptual category, outputs reassembled in ``DIMENSIONS`` order."""

    def __init__(self, dim: int, hidden: int, *, rngs: nnx.Rngs):
        self.dims = tuple(tuple(d for d in DIMENSIONS if CATEGORIES[d] == c)
                          for c in CATEGORY_NAMES)
        self.hidden = nnx.List([nnx.Linear(dim, hidden, rngs=rngs) for _ in self.dims])
        self.out = nnx.List([nnx.Linear(hidden, len(ds), rngs=rngs) for ds in self.dims])
        order = [d for ds in self.dims for d in ds]
        self.perm = tuple(order.index(d) for d in DIMENSIONS)

    def __call__(self, z):
        ys = [o(jax.nn.gelu(h(z))) for h, o in zip(self.hidden, self.out, strict=True)]
        return jnp.concatenate(ys, axis=-1)[:, np.array(self.perm)]


class ASTModel(nnx.Module):
    """Model input (B, crop_frames / time_pool, n_mels / freq_pool) -> (predictions (B, 19),
    intermediates dict); ``pool_input`` makes the input from log-mel spectrograms."""

    def __init__(self, cfg: ASTConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        nf, nt = cfg.grid
        self.patch = nnx.Conv(1, cfg.dim, cfg.patch, cfg.stride, padding="VALID", rngs=rngs)
        init = nnx.initializers.normal(0.02)
        if cfg.positional == "learned":
            self.pos = nnx.Param(init(rngs.params(), (nf * nt, cfg.dim)))
        elif cfg.positional == "spectro":
            self.freq_emb = nnx.Param(init(rngs.params(), (nf, cfg.dim)))
        if cfg.pooling == "cls":
            self.cls = nnx.Param(init(rngs.params(), (1, 1, cfg.dim)))
        rates = np.linspace(0.0, cfg.drop_path, cfg.depth)
        self.blocks = nnx.List([Block(cfg, float(r), rngs=rngs) for r in rates])
        self.norm = nnx.LayerNorm(cfg.dim, rngs=rngs)
        self.head = (nnx.Linear(cfg.dim, cfg.n_outputs, rngs=rngs) if cfg.head == "shared"
                     else CategoryHead(cfg.dim, cfg.head_hidden, rngs=rngs))

    def patches(self, x):
        """Model input (B, T, F) -> patch embeddings (B, nf, nt, D).

        Non-overlapping patches are cut by a reshape and embedded by one matrix product with the
        convolution's kernel (the same numbers as the strided convolution, several times faster
        on a CPU); overlapping ones use the convolution."""
        (pf, pt), (sf, st) = self.cfg.patch, self.cfg.stride
        if (pf, pt) != (sf, st):
            return self.patch(x.swapaxes(1, 2)[..., None])
        b, t, f = x.shape
        nf, nt = f // pf, t // pt
        x = x[:, :nt * pt, :nf * pf].reshape(b, nt, pt, nf, pf)
        if nf > 1:
            x = x.transpose(0, 3, 1, 2, 4)                             # (B, nf, nt, pt, pf)
        kernel = self.patch.kernel[...].transpose(1, 0, 2, 3).reshape(pt * pf, -1)
        z = x.reshape(b * nf * nt, pt * pf) @ kernel + self.patch.bias[...][None, :]
        return z.reshape(b, nf, nt, -1)

    def embed(self, x):
        """Model input (B, T, F) -> patch tokens (B, nf * nt, D) with absolute positions,
        and the tokens' time indices."""
        cfg = self.cfg
        z = self.patches(x)                                           # (B, nf, nt, D)
        b, nf, nt, d = z.shape
        if cfg.positional == "learned":
            if nf * nt > self.pos.shape[0]:
                raise ValueError(f"learned positions cover {cfg.crop_frames} frames; crop first")
            z = z + self.pos[...].reshape(cfg.grid + (d,))[None, :nf, :nt]
        elif cfg.positional == "sincos":
            z = z + sincos_2d(nf, nt, d).reshape(1, nf, nt, d)
        else:
            z = z + self.freq_emb[...][None, :, None, :]
        time_pos = jnp.tile(jnp.arange(nt), nf)
        return z.reshape(b, nf * nt, d), time_pos

    def __call__(self, x, *, key: jax.Array | None = None):
        """``key`` switches on dropout and stochastic depth (training); None is inference."""
        inter = self.encode(x, key=key)
        return self.head(inter["pooled"]), inter

    def encode(self, x, *, key: jax.Array | None = None) -> dict:
        """The intermediates without the head: tokens, encoded tokens, the pooled embedding
        (B, dim) and each layer's attention weights (a hybrid model reads ``pooled``)."""
        tokens, time_pos = self.embed(x)
        h = tokens
        if self.cfg.pooling == "cls":
            h = jnp.concatenate([jnp.broadcast_to(self.cls[...], (h.shape[0], 1, h.shape[2])), h],
                                axis=1)
            time_pos = jnp.concatenate([jnp.zeros((1,), time_pos.dtype), time_pos])
        rope_pos = time_pos if self.cfg.positional == "spectro" else None
        keys = [None] * len(self.blocks) if key is None else jax.random.split(key, len(self.blocks))
        attention = []
        for block, k in zip(self.blocks, keys, strict=True):
            h, w = block(h, rope_pos, key=k)
            attention.append(w)
        h = self.norm(h)
        pooled = h[:, 0] if self.cfg.pooling == "cls" else h.mean(axis=1)
        return {"tokens": tokens, "encoded": h, "pooled": pooled, "attention": tuple(attention)}


def n_params(model: nnx.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param))))
