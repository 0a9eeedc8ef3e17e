"""Tests of watlib.plot.segmentation: the label maps, scene and curves of the Vaihingen
experiment, drawn headless."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _maps():
    from watlib.data import VAIHINGEN_CLASSES

    clean = np.arange(8 * 10).reshape(8, 10) % len(VAIHINGEN_CLASSES)
    return {"clean": clean, "corrupted": np.roll(clean, 1, axis=1)}


def test_label_maps_use_the_isprs_colours_and_show_the_close_up():
    from watlib.data import VAIHINGEN_CLASSES, VAIHINGEN_COLORS
    from watlib.plot import plot_label_maps

    maps = _maps()
    fig = plot_label_maps(maps, crop=(2, 6, 3, 9))
    full, close = fig.axes[0], fig.axes[2]  # row 1: full maps, row 2: close-ups
    np.testing.assert_array_equal(full.images[0].get_array(), VAIHINGEN_COLORS[maps["clean"]])
    np.testing.assert_array_equal(close.images[0].get_array(), VAIHINGEN_COLORS[maps["clean"][2:6, 3:9]])
    assert len(full.patches) == 1  # the orange frame of the close-up
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(VAIHINGEN_CLASSES)
    plt.close(fig)


def test_label_maps_reject_bad_crops_and_mismatched_maps():
    from watlib.plot import plot_label_maps

    with pytest.raises(ValueError, match=r"crop must satisfy 0 <= top < bottom <= 8"):
        plot_label_maps(_maps(), crop=(2, 20, 0, 4))
    with pytest.raises(ValueError, match="crop must be"):
        plot_label_maps(_maps(), crop=(2, 3))
    with pytest.raises(ValueError, match="one shape"):
        plot_label_maps({"a": np.zeros((4, 4), int), "b": np.zeros((4, 5), int)})
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_label_maps({})
    with pytest.raises(ValueError, match="must lie in"):
        plot_label_maps({"a": np.full((4, 4), 6)})
    plt.close("all")


def test_scene_shows_the_dsm_in_metres():
    from watlib.data import VaihingenTile
    from watlib.plot import plot_scene

    image = np.zeros((5, 4, 4), np.float32)
    image[3] = np.linspace(0, 1, 16).reshape(4, 4)
    fig = plot_scene(VaihingenTile(1, image, np.zeros((4, 4), np.int64), {}, (250.0, 270.0)))
    dsm = fig.axes[1].images[0].get_array()
    assert float(dsm.min()) == 250.0 and float(dsm.max()) == 270.0
    plt.close(fig)


def test_segmentation_curves_average_seeds_and_skip_undefined_values():
    from watlib.plot import plot_segmentation_curves

    recs = [{"config": {"method": "wat"}, "history": {"val_oa": [50.0, 70.0], "val_avg_f1": [None, 60.0]}},
            {"config": {"method": "wat"}, "history": {"val_oa": [60.0, 80.0], "val_avg_f1": [40.0, 50.0]}}]
    fig = plot_segmentation_curves(recs)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [55.0, 75.0])
    assert line.get_label() == "WAT (2)"
    assert np.isnan(fig.axes[1].get_lines()[0].get_ydata()[0])
    with pytest.raises(ValueError, match="at least one"):
        plot_segmentation_curves([])
    plt.close("all")


def test_label_maps_lay_panels_out_in_ncols_columns():
    from watlib.plot import plot_label_maps

    maps = {**_maps(), "third": _maps()["clean"]}
    fig = plot_label_maps(maps, ncols=2)
    assert len(fig.axes) == 4  # a 2 x 2 grid, the last cell empty and hidden
    assert [ax.get_title() for ax in fig.axes[:3]] == ["clean", "corrupted", "third"]
    assert not fig.axes[3].axison
    with pytest.raises(ValueError, match="ncols must be an int >= 1, got 0"):
        plot_label_maps(maps, ncols=0)
    with pytest.raises(TypeError, match="ncols must be an int, got 2.0 of type float"):
        plot_label_maps(maps, ncols=2.0)


# ------------------------------------------------------------------------------ sized for the page
def _extent(artist, renderer):
    """An artist's drawn box, or the box itself."""
    return artist if isinstance(artist, Bbox) else artist.get_window_extent(renderer)


def _apart(a, b, renderer) -> bool:
    """Whether the drawn boxes of two artists do not overlap (touching edges allowed)."""
    x, y = _extent(a, renderer), _extent(b, renderer)
    return x.x1 <= y.x0 + 0.5 or y.x1 <= x.x0 + 0.5 or x.y1 <= y.y0 + 0.5 or y.y1 <= x.y0 + 0.5


def _tile(size=(40, 50)):
    from watlib.data import VaihingenTile

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, size)
    return VaihingenTile(1, rng.random((5, *size)).astype(np.float32), labels, {}, (250.0, 270.5))


def test_scene_fits_the_page_and_its_colour_bars_and_legend_touch_no_other_panel():
    """The book's column is 6.8 in at 100 dpi: a wider figure is shrunk and its 8 pt text with
    it. The DSM's colour bar labels once ran into the nDSM panel and the legend sat on panels."""
    from watlib.plot import plot_scene
    from watlib.plot._style import PAGE_WIDTH

    fig = plot_scene(_tile())
    assert fig.get_figwidth() <= PAGE_WIDTH
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    panels, bars = fig.axes[:4], fig.axes[4:]
    assert len(bars) == 2
    for bar in bars:
        ticks = [t for t in bar.get_yticklabels() if t.get_text()]
        assert ticks and min(t.get_fontsize() for t in ticks) >= 8
        for panel in panels:  # the bar with its tick labels stays beside every image
            assert _apart(bar.get_tightbbox(renderer), panel, renderer)
    legend = fig.legends[0]
    assert all(_apart(legend, ax, renderer) for ax in fig.axes)
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 8


def test_label_maps_fit_the_page_in_rows_of_three_with_the_legend_outside():
    from watlib.plot import plot_label_maps
    from watlib.plot._style import PAGE_WIDTH

    base = _maps()["clean"]
    maps = {f"map {i}": np.roll(base, i, axis=0) for i in range(5)}
    fig = plot_label_maps(maps, crop=(1, 5, 2, 8), image=np.random.default_rng(0).random((5, 8, 10)))
    assert fig.get_figwidth() <= PAGE_WIDTH
    axes = np.array(fig.axes).reshape(4, 3)  # (image + 5 maps) in rows of 3, each row with its close-ups
    assert [ax.get_title() for ax in axes[0]] == ["image (IRRG)", "map 0", "map 1"]
    assert [ax.get_title() for ax in axes[1]] == ["image (IRRG): close-up", "map 0: close-up", "map 1: close-up"]
    assert [ax.get_title() for ax in axes[2]] == ["map 2", "map 3", "map 4"]
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    assert all(_apart(fig.legends[0], ax, renderer) for ax in fig.axes)
    for a in fig.axes:  # no title runs into a neighbouring panel
        for b in fig.axes:
            if a is not b:
                assert _apart(a.title, b, renderer)


def test_label_maps_in_a_figure_of_the_callers_keep_the_legend_below_the_panels():
    from watlib.plot import plot_label_maps

    fig = plot_label_maps(_maps(), fig=plt.figure(figsize=(6, 4)))
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    assert all(_apart(fig.legends[0], ax, renderer) for ax in fig.axes)


def test_segmentation_curves_fit_the_page_with_one_legend_under_both_panels():
    from watlib.plot import plot_segmentation_curves
    from watlib.plot._style import PAGE_WIDTH

    recs = [{"config": {"method": m}, "history": {"val_oa": [50.0, 60.0, 70.0], "val_avg_f1": [40.0, 45.0, 50.0]}}
            for m in ("cce_clean", "cce", "bootsoft", "wat")]
    fig = plot_segmentation_curves(recs)
    assert fig.get_figwidth() <= PAGE_WIDTH and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["CCE (clean) (1)", "CCE (noisy) (1)", "Bootsoft (1)",
                                                                  "WAT (1)"]
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    assert all(_apart(fig.legends[0], ax, renderer) for ax in fig.axes)
    assert all(ax.get_legend() is None for ax in fig.axes)
