"""The listener: an AST that also says what the MIDI descriptors of the music it hears are, and
can be pretrained to hear them, or to fill in masked patches of its spectrogram.

* An auxiliary **descriptor head** (one linear map from the pooled embedding) predicts the
  segment's standardised performance descriptors beside the 19 labels (multi-task learning;
  a distillation from an exact, free teacher: the MIDI the audio was rendered from). The two
  losses are combined with a fixed weight, or with learned homoscedastic-uncertainty weights
  (Kendall, Gal & Cipolla 2018): ``exp(-s_y) L_y + s_y + exp(-s_d) L_d + s_d``.
* **Masked-patch pretraining** (SSAST, Gong et al. 2022; Audio-MAE, Huang et al. 2022): a share
  of the patch tokens is replaced by a learned mask token (positions kept), the encoder reads
  the sequence, and a linear decoder reconstructs the masked patches' input values (mean
  squared error on masked patches only).

``ListenerModel(x)`` returns ``(predictions (B, 19), intermediates)`` like ``ASTModel``, with
``intermediates["descriptors"]`` added, so the AST's evaluation code reads it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from flax import nnx

from percepiano.models.ast import ASTConfig, ASTModel

WEIGHTINGS = ("fixed", "learned")


@dataclass(frozen=True)
class ListenerConfig:
    """The AST's shape plus the auxiliary parts (``n_descriptors`` outputs of the head)."""

    ast: ASTConfig = field(default_factory=ASTConfig)
    n_descriptors: int = 50       # the MIDI model's performance descriptors
    aux_weight: float = 1.0       # fixed weighting: L_y + aux_weight * L_d (0: labels only)
    weighting: str = "fixed"      # or "learned" (Kendall et al. 2018)
    mask_ratio: float = 0.5       # share of patches masked in masked pretraining (SSAST: ~0.4-0.75)

    def __post_init__(self):
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {self.weighting!r}; choose from "
                             f"{', '.join(WEIGHTINGS)}")
        if not 0 < self.mask_ratio < 1:
            raise ValueError(f"mask_ratio must lie in (0, 1), got {self.mask_ratio}")
        if self.ast.patch != self.ast.stride:
            raise ValueError("masked patches need non-overlapping patches (patch == stride)")

    @property
    def input_frames(self) -> int:
        return self.ast.input_frames


class ListenerModel(nnx.Module):
    """An ``ASTModel`` with a descriptor head, loss weights and a masked-patch decoder."""

    def __init__(self, cfg: ListenerConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.ast = ASTModel(cfg.ast, rngs=rngs)
        self.descriptor_head = nnx.Linear(cfg.ast.dim, cfg.n_descriptors, rngs=rngs)
        self.log_vars = nnx.Param(jnp.zeros((2,)))  # s_y, s_d of the learned weighting
        pf, pt = cfg.ast.patch
        self.mask_token = nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (cfg.ast.dim,)))
        self.decoder = nnx.Linear(cfg.ast.dim, pf * pt, rngs=rngs)

    def __call__(self, x, *, key: jax.Array | None = None):
        inter = self.ast.encode(x, key=key)
        inter["descriptors"] = self.descriptor_head(inter["pooled"])
        return self.ast.head(inter["pooled"]), inter

    def combine(self, label_loss, descriptor_loss):
        """The multi-task loss from the two mean squared errors."""
        if self.cfg.weighting == "learned":
            s = self.log_vars[...]
            return (jnp.exp(-s[0]) * label_loss + s[0]) + (jnp.exp(-s[1]) * descriptor_loss
                                                           + s[1])
        return label_loss + self.cfg.aux_weight * descriptor_loss

    def patch_values(self, x):
        """Model input (B, T, F) -> each patch's input values (B, nf * nt, pf * pt), in the
        order of ``ASTModel.embed``'s tokens."""
        (pf, pt) = self.cfg.ast.patch
        b, t, f = x.shape
        nf, nt = f // pf, t // pt
        x = x[:, :nt * pt, :nf * pf].reshape(b, nt, pt, nf, pf).transpose(0, 3, 1, 2, 4)
        return x.reshape(b, nf * nt, pt * pf)

    def masked(self, x, key: jax.Array, *, dropout_key: jax.Array | None = None):
        """Masked-patch reconstruction: (reconstructions, targets, mask), each (B, N, ...);
        ``mask`` (B, N) is True where a token was masked (``mask_ratio`` of them, exactly)."""
        ast = self.ast
        tokens, time_pos = ast.embed(x)
        b, n, _ = tokens.shape
        zero = jnp.zeros_like(x[:1])  # what embed adds to a patch: its position, alone
        position = ast.embed(zero)[0] - ast.patches(zero).reshape(1, n, -1)
        n_mask = max(1, int(round(self.cfg.mask_ratio * n)))
        rank = jnp.argsort(jnp.argsort(jax.random.uniform(key, (b, n)), axis=1), axis=1)
        mask = rank < n_mask
        h = jnp.where(mask[..., None], self.mask_token[...][None, None, :] + position, tokens)
        if ast.cfg.pooling == "cls":
            h = jnp.concatenate([jnp.broadcast_to(ast.cls[...], (b, 1, h.shape[2])), h], axis=1)
            time_pos = jnp.concatenate([jnp.zeros((1,), time_pos.dtype), time_pos])
        rope_pos = time_pos if ast.cfg.positional == "spectro" else None
        keys = ([None] * len(ast.blocks) if dropout_key is None
                else jax.random.split(dropout_key, len(ast.blocks)))
        for block, k in zip(ast.blocks, keys, strict=True):
            h, _ = block(h, rope_pos, key=k)
        h = ast.norm(h)
        if ast.cfg.pooling == "cls":
            h = h[:, 1:]
        return self.decoder(h), self.patch_values(x), mask


def masked_loss(model: ListenerModel, x, key, dropout_key=None):
    """Mean squared reconstruction error over the masked patches only."""
    recon, target, mask = model.masked(x, key, dropout_key=dropout_key)
    err = jnp.mean((recon - target) ** 2, axis=-1)
    return jnp.sum(err * mask) / jnp.sum(mask)
