"""Hybrid model: the AST's pooled embedding fused with a small network over descriptors.

The descriptors are the MIDI descriptors (timing, dynamics, articulation, pedal statistics of
the performance, ``features.midi``) and the audio descriptors of its rendering (MFCCs, spectral
shape, chroma, loudness, onset rate, harmonic/percussive ratio, ``features.audio``), one vector
per segment, standardised on the training segments (``training.batches.Normaliser``).

``DescriptorNet``: input dropout, then two GELU layers (``desc_hidden`` -> ``desc_dim``).
``HybridModel`` fuses the two branches in one of three ways (``fusion``), then layer norm and
one linear map to the 19 dimensions; trained end to end by the AST's loop
(``training.train.fit`` with ``descriptors=``) or week 2's (``training.recipes``):

* ``concat``: the AST's pooled embedding (``dim``) beside the descriptor embedding
  (``desc_dim``);
* ``attention``: each descriptor becomes a token (its standardised value times a learned
  vector plus a learned bias: the feature tokenizer of Gorishniy et al. 2021), the descriptor
  tokens attend to the AST's encoded spectrogram tokens (multi-head cross-attention), and the
  mean of the attended tokens (``dim``) sits beside the descriptor embedding;
* ``gate``: a gated multimodal unit (Arevalo et al. 2017): ``z * tanh(W_a a) + (1 - z) *
  tanh(W_d e)`` with ``z = sigmoid(W_z [a, e])``, width ``desc_dim``, a learned per-feature
  balance of listening and descriptors. ``HybridConfig(ast=None)`` is
the descriptor network alone (the spectrogram input is ignored), the hybrid's ablation on the
same loop and the same folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx

from percepiano.data.dataset import DIMENSIONS
from percepiano.models.ast import ASTConfig, ASTModel, dropout, preset

FUSIONS = ("concat", "attention", "gate")


@dataclass(frozen=True)
class HybridConfig:
    """Shape of the hybrid; ``ast=None`` gives the descriptor network alone."""

    n_descriptors: int                      # length of the descriptor vector (set from the data)
    ast: ASTConfig | None = preset("micro")  # the listening branch (the CPU default)
    desc_hidden: int = 128      # about the descriptor count: a bottleneck-free first layer
    desc_dim: int = 64          # the descriptor embedding, as wide as micro's pooled embedding
    input_dropout: float = 0.1  # drops whole descriptors: no reliance on one of ~240 columns
    dropout: float = 0.1        # after each hidden layer, as in the AST blocks
    fusion: str = "concat"      # the simplest fusion; "attention" and "gate": module docstring
    n_outputs: int = len(DIMENSIONS)

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose from {', '.join(FUSIONS)}")
        if self.n_descriptors < 1:
            raise ValueError("a hybrid model needs at least one descriptor")
        if self.fusion != "concat" and self.ast is None:
            raise ValueError(f"{self.fusion} fusion needs the AST branch")

    @property
    def input_frames(self) -> int:
        """Frames of the spectrogram crop the loop cuts (ignored without an AST branch)."""
        return (self.ast or preset("micro")).input_frames

    @property
    def bands(self) -> int:
        return (self.ast or preset("micro")).bands


class DescriptorNet(nnx.Module):
    """(B, n_descriptors) standardised -> (B, desc_dim) embedding."""

    def __init__(self, cfg: HybridConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.fc1 = nnx.Linear(cfg.n_descriptors, cfg.desc_hidden, rngs=rngs)
        self.fc2 = nnx.Linear(cfg.desc_hidden, cfg.desc_dim, rngs=rngs)

    def __call__(self, d, *, key: jax.Array | None = None):
        k = [None] * 3 if key is None else list(jax.random.split(key, 3))
        h = dropout(d, self.cfg.input_dropout, k[0])
        h = dropout(jax.nn.gelu(self.fc1(h)), self.cfg.dropout, k[1])
        return dropout(jax.nn.gelu(self.fc2(h)), self.cfg.dropout, k[2])


class HybridModel(nnx.Module):
    """(spectrogram input (B, T, F), descriptors (B, n)) -> (predictions (B, 19),
    intermediates: the AST's ones (without AST: none), ``desc`` and ``fused`` embeddings)."""

    def __init__(self, cfg: HybridConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.ast = ASTModel(cfg.ast, rngs=rngs) if cfg.ast is not None else None
        self.desc = DescriptorNet(cfg, rngs=rngs)
        width = cfg.desc_dim + (cfg.ast.dim if cfg.ast is not None else 0)
        if cfg.fusion == "gate":
            width = cfg.desc_dim
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.head = nnx.Linear(width, cfg.n_outputs, rngs=rngs)
        if cfg.fusion == "attention":
            self.cross = CrossAttention(cfg.n_descriptors, cfg.ast.dim, cfg.ast.heads, rngs=rngs)
        elif cfg.fusion == "gate":
            a, d = cfg.ast.dim, cfg.desc_dim
            self.gate_a = nnx.Linear(a, d, rngs=rngs)
            self.gate_d = nnx.Linear(d, d, rngs=rngs)
            self.gate_z = nnx.Linear(a + d, d, rngs=rngs)

    def __call__(self, x, d, *, key: jax.Array | None = None):
        ka, kd = (None, None) if key is None else tuple(jax.random.split(key))
        desc = self.desc(d, key=kd)
        inter, e = {}, desc
        if self.ast is not None:
            inter = self.ast.encode(x, key=ka)
            a = inter["pooled"]
            if self.cfg.fusion == "attention":
                a = self.cross(d, inter["encoded"])
            if self.cfg.fusion == "gate":
                z = jax.nn.sigmoid(self.gate_z(jnp.concatenate([a, desc], axis=-1)))
                e = z * jnp.tanh(self.gate_a(a)) + (1 - z) * jnp.tanh(self.gate_d(desc))
                inter["gate"] = z
            else:
                e = jnp.concatenate([a, desc], axis=-1)
        fused = self.norm(e)
        return self.head(fused), {**inter, "desc": desc, "fused": fused}


class CrossAttention(nnx.Module):
    """Descriptor tokens attending to spectrogram tokens: (B, n) standardised descriptors and
    (B, N, dim) encoded tokens -> (B, dim), the mean of the n attended descriptor tokens."""

    def __init__(self, n_descriptors: int, dim: int, heads: int, *, rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.02)
        self.scale = nnx.Param(init(rngs.params(), (n_descriptors, dim)))
        self.bias = nnx.Param(init(rngs.params(), (n_descriptors, dim)))
        self.norm = nnx.LayerNorm(dim, rngs=rngs)
        self.q = nnx.Linear(dim, dim, rngs=rngs)
        self.kv = nnx.Linear(dim, 2 * dim, rngs=rngs)
        self.out = nnx.Linear(dim, dim, rngs=rngs)
        self.heads = heads

    def __call__(self, d, tokens):
        b, n, dim = tokens.shape
        hd = dim // self.heads
        queries = self.norm(d[..., None] * self.scale[...][None] + self.bias[...][None])
        q = self.q(queries).reshape(b, -1, self.heads, hd)
        k, v = jnp.split(self.kv(tokens).reshape(b, n, 2, self.heads, hd), 2, axis=2)
        scores = jnp.einsum("bqhd,bkhd->bhqk", q, k[:, :, 0]) / jnp.sqrt(jnp.float32(hd))
        out = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores, axis=-1), v[:, :, 0])
        return self.out(out.reshape(b, -1, dim)).mean(axis=1)


def build(cfg, *, rngs: nnx.Rngs):
    """The model of a configuration: ``ASTConfig`` -> ``ASTModel``, ``HybridConfig`` ->
    ``HybridModel``."""
    if isinstance(cfg, HybridConfig):
        return HybridModel(cfg, rngs=rngs)
    if isinstance(cfg, ASTConfig):
        return ASTModel(cfg, rngs=rngs)
    raise TypeError(f"no model for a {type(cfg).__name__}")
