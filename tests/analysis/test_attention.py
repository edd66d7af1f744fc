"""Attention rollout, time profiles, attention distance, events and their alignment, figures."""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pretty_midi  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from percepiano.analysis import attention as att  # noqa: E402
from percepiano.analysis import figures  # noqa: E402
from percepiano.models import ast  # noqa: E402

TINY = dict(dim=16, depth=2, heads=2, crop_frames=160,    # 64 x 40 pooled input
            patch=(16, 8), stride=(16, 8))                 # -> 4 bands x 5 times = 20 tokens
TWO = ast.preset("nano", crop_frames=64, patch=(64, 8), stride=(64, 8))  # 1 band x 2 times


def softmax_attention(rng, shape):
    z = rng.normal(size=shape)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_rollout_rows_sum_to_one_and_order():
    rng = np.random.default_rng(0)
    layers = [softmax_attention(rng, (2, 3, 6, 6)) for _ in range(3)]
    rolled = att.rollout(layers)
    assert rolled.shape == (2, 6, 6)
    np.testing.assert_allclose(rolled.sum(axis=-1), 1.0, atol=1e-12)
    # residual 0: the product of the head-averaged layers, the first applied first
    a1, a2 = (a.mean(axis=1) for a in layers[:2])
    np.testing.assert_allclose(att.rollout(layers[:2], residual=0.0), a2 @ a1, atol=1e-12)
    assert not np.allclose(a2 @ a1, a1 @ a2)  # the check above would catch a reversed order


def test_rollout_of_identity_attention_is_identity():
    eye = np.broadcast_to(np.eye(5), (2, 4, 5, 5))
    for residual in (0.0, 0.5, 0.9):
        np.testing.assert_allclose(att.rollout([eye] * 3, residual), np.broadcast_to(
            np.eye(5), (2, 5, 5)))
    np.testing.assert_allclose(att.token_relevance(att.rollout([eye])), np.full((2, 5), 0.2))
    with pytest.raises(ValueError, match="residual"):
        att.rollout([eye], residual=1.5)


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_rollout_of_a_real_ast(pooling):
    cfg = ast.preset("nano", pooling=pooling, **TINY)
    model = ast.ASTModel(cfg, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(1), (3, 40, 64))
    inter = model.encode(x)
    n = 20 + (pooling == "cls")
    assert inter["attention"][0].shape == (3, 2, n, n)
    rolled = att.rollout(inter["attention"])
    assert rolled.shape == (3, n, n)
    np.testing.assert_allclose(rolled.sum(axis=-1), 1.0, atol=1e-5)
    rel = att.token_relevance(rolled, pooling)
    assert rel.shape == (3, 20)
    np.testing.assert_allclose(rel.sum(axis=-1), 1.0, atol=1e-5)
    profile, times = att.time_profile(rel, cfg, 160)
    assert profile.shape == (3, 5) and times.shape == (5,)
    np.testing.assert_allclose(profile.sum(axis=-1), 1.0, atol=1e-5)


def test_time_profile_follows_token_order_and_hop():
    cfg = ast.preset("nano", **TINY)
    rel = np.zeros(20)
    rel[2 * 5 + 3] = 1.0                              # band 2, time patch 3 (band-major)
    profile, times = att.time_profile(rel, cfg, 160)
    np.testing.assert_array_equal(profile, [[0, 0, 0, 1, 0]])
    # a patch: 8 pooled x 4 raw frames of 10 ms = 0.32 s; frame f centred on f * 10 ms
    np.testing.assert_allclose(times, 0.32 * np.arange(5) + 0.155)
    assert att.patch_times(cfg, 160)[1] == pytest.approx(0.16)
    with pytest.raises(ValueError, match="patch tokens"):
        att.time_profile(np.zeros(21), cfg, 160)


def test_attention_distance_identity_and_two_tokens():
    cfg = ast.preset("nano", **TINY)
    eye = np.broadcast_to(np.eye(20), (2, 2, 20, 20))
    np.testing.assert_array_equal(att.attention_distance([eye, eye], cfg, 160), np.zeros((2, 2)))
    # two tokens 0.32 s apart; head 1: rows (0.75, 0.25), (0.5, 0.5) -> (0.08 + 0.16) / 2;
    # head 2 identity -> 0; mean over heads 0.06
    a = np.array([[[[0.75, 0.25], [0.5, 0.5]], [[1.0, 0.0], [0.0, 1.0]]]])
    assert TWO.grid_for(64) == (1, 2)
    dist = att.attention_distance([a, a[:, :1]], TWO, 64)
    np.testing.assert_allclose(dist, [[0.06, 0.12]])


def hand_built_midi():
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    for start, pitch in [(0.1, 60), (0.2, 64), (0.5, 67), (1.0, 72)]:
        piano.notes.append(pretty_midi.Note(80, pitch, start, start + 0.3))
    for t, v in [(0.3, 100), (0.35, 90), (0.7, 0), (0.9, 30)]:  # down, held, up, still up
        piano.control_changes.append(pretty_midi.ControlChange(64, v, t))
    piano.control_changes.append(pretty_midi.ControlChange(67, 127, 0.05))  # soft pedal
    drums = pretty_midi.Instrument(0, is_drum=True)
    drums.notes.append(pretty_midi.Note(100, 36, 0.5, 0.6))
    pm.instruments += [piano, drums]
    return pm


def test_event_profile_counts_onsets_and_pedal_changes():
    pm = hand_built_midi()
    times = np.array([0.16, 0.48, 0.8, 1.12])         # patches [0, .32), [.32, .64), ...
    ev = att.event_profile(pm, times, 0.16)
    np.testing.assert_array_equal(ev["onsets"], [2, 1, 0, 1])
    np.testing.assert_array_equal(ev["pedal_changes"], [1, 0, 1, 0])
    np.testing.assert_array_equal(ev["pedal"], [True, False, True, False])
    np.testing.assert_allclose(att.pedal_changes(pm), [0.3, 0.7])
    assert att.pedal_intervals(pm) == [(0.3, 0.7)]


def test_loudness_peaks_found_and_mapped_to_patches():
    cfg = ast.preset("nano", **TINY)
    mel_db = np.full((128, 160), -60.0)
    mel_db[:, 19:22] = [-20.0, -10.0, -20.0]           # a peak at frame 20: patch 0 (0-31)
    mel_db[:, 89:92] = [-30.0, -15.0, -30.0]           # frame 90: patch 2 (64-95)
    peaks = att.loudness_peaks(mel_db, cfg)
    np.testing.assert_array_equal(peaks["frames"], [20, 90])
    np.testing.assert_allclose(peaks["times"], [0.2, 0.9])
    np.testing.assert_array_equal(peaks["per_patch"], [1, 0, 1, 0, 0])


def test_alignment_ratio():
    events = [np.array([1, 0, 0, 2]), np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]),
              np.zeros(4)]                            # the last has no event: left out
    flat = att.alignment([np.full(4, 0.25)] * 4, events, n_boot=200)
    assert flat["n"] == 3 and np.isnan(flat["ratios"][3])
    np.testing.assert_allclose(flat["ratios"][:3], 1.0)
    assert flat["mean"] == pytest.approx(1.0) and flat["ci"] == pytest.approx((1.0, 1.0))
    focused = [0.1 + 0.9 * (e > 0) for e in events]
    res = att.alignment(focused, events, n_boot=200, seed=3)
    assert res["ratios"][0] == pytest.approx(1.0 / ((0.1 * 2 + 2.0) / 4))
    assert res["mean"] > 1 and res["ci"][0] > 1 and res["ci"][0] <= res["mean"] <= res["ci"][1]
    assert att.alignment(focused, events, n_boot=200, seed=3)["ci"] == res["ci"]
    with pytest.raises(ValueError, match="no segment"):
        att.alignment([np.ones(3)], [np.zeros(3)])


def test_plot_rollout_and_attention_distance():
    pm = hand_built_midi()
    times = np.array([0.16, 0.48, 0.8, 1.12])
    mel_db = np.random.default_rng(0).normal(-50, 10, (128, 128))
    fig = figures.plot_rollout(None, mel_db, [0.1, 0.4, 0.2, 0.3], times, pm.instruments[0].notes,
                               att.pedal_intervals(pm), "toy")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    top, bottom = fig.axes
    assert top.get_title() == "toy" and bottom.get_ylabel() == "MIDI pitch"
    assert len(bottom.patches) == 4 + 1                # four note bars, one pedal span
    fig2 = figures.plot_attention_distance(None, np.array([[0.1, 0.5], [0.2, 0.7]]))
    assert isinstance(fig2, Figure)
    np.testing.assert_allclose(np.asarray(fig2.axes[0].lines[0].get_ydata(), float), [0.15, 0.6])
