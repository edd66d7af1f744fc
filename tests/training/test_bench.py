"""`percepiano bench`: every figure present and positive, on a tiny model."""

import pytest

from percepiano.training import bench

TINY = dict(dim=16, depth=1, heads=2, crop_frames=160)
KEYS = ("compile_s", "step_s", "samples_per_s", "step_gflop", "achieved_gflops",
        "matmul_gflops", "predict_30s_s", "peak_rss_mb", "params", "tokens")


def test_bench_figures_are_positive():
    r = bench.bench("micro", batch_size=4, steps=2, repeats=1, torch=True, **TINY)
    for k in KEYS:
        assert r[k] > 0, k
    assert r["samples_per_s"] == pytest.approx(4 / r["step_s"])
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "torch_step_s" not in r
    else:
        assert r["torch_step_s"] > 0 and r["torch_threads"] >= 1
        assert r["jax_over_torch"] == pytest.approx(r["step_s"] / r["torch_step_s"])


def test_torch_model_of_the_same_shape_trains():
    """The PyTorch twin has exactly the JAX model's parameter count and takes timed steps."""
    torch = pytest.importorskip("torch")
    from flax import nnx

    from percepiano.models import ast

    cfg = ast.preset("micro", **TINY)
    model = bench.torch_model(cfg)
    n_torch = sum(p.numel() for p in model.parameters())
    assert n_torch == ast.n_params(ast.ASTModel(cfg, rngs=nnx.Rngs(0)))
    assert model(torch.zeros(2, cfg.input_frames, cfg.bands)).shape == (2, 19)
    assert bench.torch_step_seconds(cfg, batch=4, steps=1, threads=1) > 0
    assert torch.get_num_threads() >= 1


def test_matmul_gflops_positive():
    assert bench.matmul_gflops(n=128, repeats=2) > 0
