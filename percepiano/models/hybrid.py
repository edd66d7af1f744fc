"""Hybrid model: the AST's pooled embedding fused with a small network over descriptors.

The descriptors are the MIDI descriptors (timing, dynamics, articulation, pedal statistics of
the performance, ``features.midi``) and the audio descriptors of its rendering (MFCCs, spectral
shape, chroma, loudness, onset rate, harmonic/percussive ratio, ``features.audio``), one vector
per segment, standardised on the training segments (``training.batches.Normaliser``).

``DescriptorNet``: input dropout, then two GELU layers (``desc_hidden`` -> ``desc_dim``).
``HybridModel``: concatenation of the AST's pooled embedding (``dim``) and the descriptor
embedding (``desc_dim``), layer-normed, one linear map to the 19 dimensions; trained end to end
by the AST's loop (``training.train.fit`` with ``descriptors=``). ``HybridConfig(ast=None)`` is
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

FUSIONS = ("concat",)


@dataclass(frozen=True)
class HybridConfig:
    """Shape of the hybrid; ``ast=None`` gives the descriptor network alone."""

    n_descriptors: int                      # length of the descriptor vector (set from the data)
    ast: ASTConfig | None = preset("micro")  # the listening branch (the CPU default)
    desc_hidden: int = 128      # about the descriptor count: a bottleneck-free first layer
    desc_dim: int = 64          # the descriptor embedding, as wide as micro's pooled embedding
    input_dropout: float = 0.1  # drops whole descriptors: no reliance on one of ~240 columns
    dropout: float = 0.1        # after each hidden layer, as in the AST blocks
    fusion: str = "concat"      # the simplest fusion; attention and gating are later chapters'
    n_outputs: int = len(DIMENSIONS)

    def __post_init__(self):
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; choose from {', '.join(FUSIONS)}")
        if self.n_descriptors < 1:
            raise ValueError("a hybrid model needs at least one descriptor")

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
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.head = nnx.Linear(width, cfg.n_outputs, rngs=rngs)

    def __call__(self, x, d, *, key: jax.Array | None = None):
        ka, kd = (None, None) if key is None else tuple(jax.random.split(key))
        e = self.desc(d, key=kd)
        inter = {}
        if self.ast is not None:
            inter = self.ast.encode(x, key=ka)
            e = jnp.concatenate([inter["pooled"], e], axis=-1)
        fused = self.norm(e)
        return self.head(fused), {**inter, "desc": e[..., -self.cfg.desc_dim:], "fused": fused}


def build(cfg, *, rngs: nnx.Rngs):
    """The model of a configuration: ``ASTConfig`` -> ``ASTModel``, ``HybridConfig`` ->
    ``HybridModel``."""
    if isinstance(cfg, HybridConfig):
        return HybridModel(cfg, rngs=rngs)
    if isinstance(cfg, ASTConfig):
        return ASTModel(cfg, rngs=rngs)
    raise TypeError(f"no model for a {type(cfg).__name__}")
