"""Figure helpers: each returns a Figure built from a small table, labelled as the book needs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from percepiano import plots  # noqa: E402
from percepiano.data.dataset import CATEGORIES, DIMENSIONS  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    base = rng.random((40, 1))
    values = np.clip(0.4 + 0.3 * base + 0.1 * rng.random((40, len(DIMENSIONS))), 0.01, 1)
    return pd.DataFrame(values, columns=list(DIMENSIONS),
                        index=[f"s{i:02d}" for i in range(40)])


def test_every_dimension_has_a_unique_readable_name():
    names = [plots.short_name(d) for d in DIMENSIONS]
    assert len(set(names)) == len(DIMENSIONS)
    assert plots.short_name("Timbre_Bright_Dark") == "Timbre: bright – dark"
    assert plots.short_name("Music_Making_Fast_paced_Slow_paced").startswith("Music making:")
    assert plots.category_label("Emotion_&_Mood") == "Emotion & mood"
    assert set(plots.POLES) == set(DIMENSIONS)


def test_crosstab_heatmap_counts_every_segment():
    seg = pd.DataFrame({"piece": ["a", "a", "b", "b", "b"],
                        "performer": ["1", "10", "2", "2", "Score"]})
    fig = plots.crosstab_heatmap(seg, "piece", "performer")
    ax = fig.axes[0]
    # performers in natural order, the score renderings last
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "10", "Score"]
    written = sorted(int(t.get_text()) for t in ax.texts)
    assert written == [1, 1, 1, 2]  # empty cells are blank, counts add up to 5


def test_label_distributions_one_box_per_dimension(labels):
    fig = plots.label_distributions(labels)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [plots.short_name(d) for d in DIMENSIONS]
    assert ax.get_xlim() == (1.0, 7.0)
    colours = plots.category_colours()
    first = ax.get_yticklabels()[0]
    assert matplotlib.colors.to_rgb(first.get_color()) == pytest.approx(
        colours[CATEGORIES[DIMENSIONS[0]]])


def test_correlation_clustermap_is_symmetric_and_complete(labels):
    fig = plots.correlation_clustermap(labels)
    assert isinstance(fig, Figure)
    heat = [ax for ax in fig.axes if len(ax.texts) == len(DIMENSIONS) ** 2]
    assert len(heat) == 1  # one annotated 19 x 19 heatmap
    rows = [t.get_text() for t in heat[0].get_yticklabels()]
    cols = [t.get_text() for t in heat[0].get_xticklabels()]
    assert rows == cols and sorted(rows) == sorted(plots.short_name(d) for d in DIMENSIONS)


def test_count_histograms_one_panel_per_series():
    fig = plots.count_histograms({"per segment": pd.Series([5, 5, 6, 14, 15]),
                                  "per rater": pd.Series([10, 200, 1300])})
    assert [ax.get_xlabel() for ax in fig.axes] == ["per segment", "per rater"]
    assert "median 6" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_dimension_bars_sorted_and_grouped():
    frame = pd.DataFrame({"a": np.linspace(0.1, 0.9, len(DIMENSIONS)),
                          "b": np.full(len(DIMENSIONS), 0.5)}, index=list(DIMENSIONS))
    fig = plots.dimension_bars(frame, "share", sort_by="a", xlim=(0, 1))
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == plots.short_name(DIMENSIONS[-1])  # largest first
    assert len(ax.patches) >= 2 * len(DIMENSIONS)
    assert ax.get_xlabel() == "share" and ax.get_xlim() == (0, 1)


def test_split_bars_labels_values_and_reference():
    table = pd.DataFrame({"kind": ["random", "random", "piece", "piece"],
                          "baseline": ["x", "y", "x", "y"],
                          "mean_r2": [0.25, 0.1, -0.03, 0.12]})
    fig = plots.split_bars(table, reference={"ceiling": 0.8})
    ax = fig.axes[0]
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == sorted(["0.25", "0.10", "-0.03", "0.12"])
    assert any(line.get_ydata()[0] == 0.8 for line in ax.get_lines())
    assert "ceiling" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_split_bars_draws_each_interval_on_its_bar():
    table = pd.DataFrame({"kind": ["random", "random", "piece", "piece"],
                          "baseline": ["x", "y", "x", "y"],
                          "mean_r2": [0.25, 0.1, -0.03, 0.12],
                          "lo": [0.2, 0.05, -0.1, 0.13], "hi": [0.3, 0.2, 0.0, 0.15]})
    ax = plots.split_bars(table, ci=("lo", "hi")).axes[0]
    vertical = [s for c in ax.collections for s in c.get_segments() if s[0][0] == s[1][0]]
    spans = sorted((round(float(s[0][1]), 6), round(float(s[1][1]), 6)) for s in vertical)
    # one interval per bar, even one that does not contain its estimate (0.13-0.15 vs 0.12)
    assert spans == sorted((float(r.lo), float(r.hi)) for r in table.itertuples())


def test_with_intervals_writes_estimate_and_interval():
    summary = pd.DataFrame({"kind": ["b", "b", "a", "a"], "metric": ["m1", "m2", "m1", "m2"],
                            "estimate": [0.5, 0.25, 0.125, 1.0], "ci_lo": [0.4, 0.2, 0.1, 0.9],
                            "ci_hi": [0.6, 0.3, 0.2, 1.1]})
    frame = plots.with_intervals(summary, ["kind"], {"m2": "second", "m1": "first"}, digits=2)
    assert list(frame.index) == ["b", "a"] and list(frame.columns) == ["second", "first"]
    assert frame.loc["b", "first"] == "0.50 [0.40, 0.60]"
    assert frame.loc["a", "second"] == "1.00 [0.90, 1.10]"


def test_table_formats_floats_and_caption():
    frame = pd.DataFrame({"r2": [0.12345, np.nan], "n": [3, 4]}, index=["a", "b"])
    html = plots.table(frame, "A caption.").to_html()
    assert "A caption." in html and "0.123" in html and "–" in html and ">3<" in html
    assert 'class="table"' in html


def test_glue_figure_stores_and_closes(monkeypatch):
    import myst_nb

    stored = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, obj, display=True:
                        stored.update({name: (obj, display)}))
    fig = plt.figure()
    plots.glue_figure("fig_x", fig)
    assert stored == {"fig_x": (fig, False)}
    assert not plt.fignum_exists(fig.number)


def test_tradeoff_scatter_labels_every_point():
    table = pd.DataFrame({"variant": ["a", "b", "c"], "s_per_epoch": [1.0, 2.0, 4.0],
                          "val_r": [0.3, 0.4, 0.45]})
    fig = plots.tradeoff_scatter(table)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]
    assert len(ax.collections[0].get_offsets()) == 3


def test_differences_one_point_and_interval_per_comparison():
    table = pd.DataFrame({"config": ["b", "c", "d"] * 2,
                          "metric": ["mean_r2"] * 3 + ["mean_pairwise"] * 3,
                          "difference": [0.05, -0.01, 0.0, 0.02, 0.01, -0.03],
                          "ci_lo": [0.02, -0.04, -0.01, 0.01, -0.01, -0.05],
                          "ci_hi": [0.08, 0.02, 0.01, 0.03, 0.03, -0.01],
                          "significant": [True, False, False, True, False, True]})
    fig = plots.differences(table)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["mean R²", "pairwise accuracy"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["b", "c", "d"]
    for ax, part in zip(fig.axes, (table[:3], table[3:]), strict=True):
        points = ax.collections[-1].get_offsets()
        np.testing.assert_allclose(points[:, 0], part.difference)
        np.testing.assert_allclose(points[:, 1], [0, 1, 2])
        assert any(np.all(np.asarray(line.get_xdata()) == 0) for line in ax.get_lines())
        filled = ax.collections[-1].get_facecolors()[:, :3].sum(1) < 3  # white means open
        assert list(filled) == list(part.significant)


def test_scaling_one_line_per_group_log_axes_and_labels():
    table = pd.DataFrame({
        "layout": ["a", "a", "a", "b"], "n_params": [1e4, 1e5, 1e6, 1e5],
        "cost": [1.0, 10.0, 100.0, 40.0], "estimate": [0.1, 0.2, 0.15, 0.12],
        "ci_lo": [0.0, 0.1, 0.05, 0.02], "ci_hi": [0.2, 0.3, 0.25, 0.22],
        "size": ["s", "m", "l", ""]})
    fig = plots.scaling(table, {"n_params": "parameters", "cost": "cost"}, label="size")
    left, right = fig.axes
    assert left.get_xscale() == right.get_xscale() == "log"
    assert [ln.get_label() for ln in left.get_lines() if not ln.get_label().startswith("_")] \
        == ["a", "b"]
    np.testing.assert_allclose(left.get_lines()[0].get_xdata(), [1e4, 1e5, 1e6])
    assert sorted(t.get_text() for t in left.texts) == ["l", "m", "s"]   # empty label: none
    assert left.get_xlabel() == "parameters" and right.get_xlabel() == "cost"
