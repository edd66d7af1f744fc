"""Data parallelism: batches are sharded over all devices on a ``'data'`` mesh axis; the model,
the optimiser state and the packed data are replicated (one device on a CPU, every accelerator
of the host otherwise).
"""

from __future__ import annotations

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def data_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all) with the axis ``'data'``."""
    return Mesh(np.array(devices if devices is not None else jax.devices()), ("data",))


def replicate(mesh: Mesh, *nodes) -> None:
    """Place the state of NNX objects (model, optimizer) on every device of ``mesh``."""
    rep = NamedSharding(mesh, PartitionSpec())
    for node in nodes:
        nnx.update(node, jax.device_put(nnx.state(node), rep))


def batch_sharding(mesh: Mesh) -> NamedSharding | None:
    """Batches split along their first axis over ``'data'``; None on one device (no constraint)."""
    return NamedSharding(mesh, PartitionSpec("data")) if mesh.size > 1 else None


def replicated(mesh: Mesh, array: np.ndarray) -> jax.Array:
    """``array`` on every device of ``mesh``; built from a callback, so it also works when the
    mesh spans several processes (``jax.distributed.initialize()``)."""
    return jax.make_array_from_callback(array.shape, NamedSharding(mesh, PartitionSpec()),
                                        lambda index: array[index])
