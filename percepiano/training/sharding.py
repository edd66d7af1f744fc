"""Data parallelism: batches are sharded over all devices on a ``'data'`` mesh axis; the model
and optimiser state are replicated (one device on a CPU, every accelerator of the host otherwise).
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


def shard(mesh: Mesh, *arrays):
    """Split arrays along their first (batch) axis over the ``'data'`` axis."""
    sh = NamedSharding(mesh, PartitionSpec("data"))
    return tuple(jax.device_put(a, sh) for a in arrays)
