"""Tests of watlib.plot.segmentation: the label maps, scene and curves of the Vaihingen
experiment, drawn headless."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


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
