"""Tests of watlib.data.synthetic: the synthetic Vaihingen scenes (their files, formats and
georeferencing, determinism, class shares, objects and cues like Vaihingen's), the argument
checks of the writer, and the cached folder of ``synthetic_vaihingen_root``.

Every scene is read back by the reader of watlib.data.vaihingen and, independently, by
rasterio.
"""

import os
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from scipy import ndimage

import watlib.data
from watlib.data import (
    VAIHINGEN_AREAS,
    VAIHINGEN_CRS,
    VAIHINGEN_PIXEL_SIZE,
    VaihingenLayout,
    load_vaihingen,
    read_vaihingen_tile,
    synthetic_vaihingen_root,
    write_synthetic_vaihingen,
)
from watlib.data import synthetic

SIZE = (96, 128)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A folder with two synthetic tiles of 96 x 128 in the default layout."""
    folder = tmp_path_factory.mktemp("synthetic")
    write_synthetic_vaihingen(folder, areas=(1, 2), size=SIZE, seed=3)
    return folder


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # the nDSM JPEG
        with rasterio.open(path) as dataset:
            return dataset.read(), dataset.profile


def test_module_exports():
    assert synthetic.__all__ == ["write_synthetic_vaihingen", "synthetic_vaihingen_root"]
    assert set(synthetic.__all__) <= set(watlib.data.__all__)


def test_written_files_are_georeferenced_geotiffs_and_a_jpeg(root):
    for name, (bands, dtype) in {"irrg": (3, "uint8"), "dsm": (1, "float32"), "labels": (3, "uint8")}.items():
        path = VaihingenLayout().paths(root, 2)[name]
        with rasterio.open(path) as dataset:
            assert dataset.driver == "GTiff" and dataset.count == bands and dataset.dtypes[0] == dtype
            assert dataset.crs.to_epsg() == int(VAIHINGEN_CRS.split(":")[1])
            t = dataset.transform
            assert (t.a, t.b, t.d, t.e) == (VAIHINGEN_PIXEL_SIZE, 0, 0, -VAIHINGEN_PIXEL_SIZE)
            assert 400_000 < t.c < 600_000 and 5_300_000 < t.f < 5_500_000  # UTM 32N, Vaihingen
    ndsm, profile = _read(VaihingenLayout().paths(root, 2)["ndsm"])
    assert profile["driver"] == "JPEG" and ndsm.shape[0] == 1 and ndsm.dtype == np.uint8
    assert not list(root.rglob("*.aux.xml")), "no GDAL side files"
    # tiles lie side by side, not on top of each other
    with rasterio.open(VaihingenLayout().paths(root, 1)["irrg"]) as a, rasterio.open(
        VaihingenLayout().paths(root, 2)["irrg"]
    ) as b:
        assert a.bounds.right < b.bounds.left


def test_same_seed_same_files_and_a_tile_does_not_depend_on_the_others(tmp_path):
    first = write_synthetic_vaihingen(tmp_path / "a", areas=[1, 3], size=SIZE, seed=7)
    again = write_synthetic_vaihingen(tmp_path / "b", areas=[3, 1], size=SIZE, seed=7)
    alone = write_synthetic_vaihingen(tmp_path / "c", areas=[3], size=SIZE, seed=7)
    by_name = lambda paths, base: {p.relative_to(base).as_posix(): p.read_bytes() for p in paths}  # noqa: E731
    a, b, c = by_name(first, tmp_path / "a"), by_name(again, tmp_path / "b"), by_name(alone, tmp_path / "c")
    assert a == b and all(a[name] == content for name, content in c.items())
    other = write_synthetic_vaihingen(tmp_path / "d", areas=[1], size=SIZE, seed=8)
    labels = {p.name: _read(p)[0] for p in (first[3], other[3])}
    assert labels[first[3].name].shape == labels[other[3].name].shape
    assert not np.array_equal(_read(first[3])[0], _read(other[3])[0])
    # two areas of one seed differ too
    assert not np.array_equal(_read(first[3])[0], _read(first[7])[0])


def test_scene_class_shares_objects_and_cues_are_like_vaihingen(tmp_path):
    write_synthetic_vaihingen(tmp_path, areas=[7], size=(512, 512), seed=0)
    tile = read_vaihingen_tile(tmp_path, 7)
    share = np.bincount(tile.labels.ravel(), minlength=6) / tile.labels.size
    expected = np.array([0.27, 0.26, 0.21, 0.23, 0.012, 0.01])
    assert np.all(np.abs(share[:4] - expected[:4]) < 0.04), share
    assert 0.005 < share[4] < 0.025 and 0.002 < share[5] < 0.03, share
    objects = [ndimage.label(tile.labels == k)[1] for k in range(6)]
    assert min(objects[:5]) >= 20 and objects[5] >= 1, objects
    # height: ground classes low, buildings 4-12 m and trees 3-15 m overlap (nDSM in 0.1 m steps)
    metres = tile.image[4] * 255 / 10
    median = [np.median(metres[tile.labels == k]) for k in range(6)]
    assert median[0] < 0.5 and median[2] < 0.5 and median[4] > 1.0
    assert 4 <= median[1] <= 12 and 3 <= median[3] <= 15
    # colour: grass and trees share the strong near infrared; many roofs are road-grey
    nir, red = tile.image[0], tile.image[1]
    for k in (2, 3):
        assert np.median(nir[tile.labels == k]) > 1.5 * np.median(red[tile.labels == k])
    spread = np.ptp(tile.image[:3], axis=0)
    assert np.mean(spread[tile.labels == 1] < 0.1) > 0.25 and np.mean(spread[tile.labels == 0] < 0.1) > 0.5


def test_small_scenes_hold_every_class(tmp_path):
    write_synthetic_vaihingen(tmp_path, areas=[3, 4, 5, 6], size=(64, 64), seed=11)
    for area in (3, 4, 5, 6):
        assert set(np.unique(read_vaihingen_tile(tmp_path, area).labels)) == set(range(6))


def test_writer_arguments_are_checked_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        write_synthetic_vaihingen(tmp_path, areas=[])
    with pytest.raises(ValueError, match=r"areas\[0\] must be one of the 33 .* got 40"):
        write_synthetic_vaihingen(tmp_path, areas=[40])
    with pytest.raises(ValueError, match="must not repeat"):
        write_synthetic_vaihingen(tmp_path, areas=[3, 3])
    with pytest.raises(ValueError, match=r"size\[1\] must be an int >= 64, got 32"):
        write_synthetic_vaihingen(tmp_path, size=(64, 32))
    with pytest.raises(TypeError, match="size must be a"):
        write_synthetic_vaihingen(tmp_path, size=64)
    with pytest.raises(ValueError, match="seed must be an int >= 0, got -1"):
        write_synthetic_vaihingen(tmp_path, seed=-1)
    with pytest.raises(TypeError, match="layout must be a VaihingenLayout"):
        write_synthetic_vaihingen(tmp_path, layout="top/{area}.tif")
    with pytest.raises(TypeError, match="root must be a str or os.PathLike"):
        write_synthetic_vaihingen(None)
    assert not list(tmp_path.iterdir()), "nothing written before the arguments were checked"


# ----------------------------------------------------------------------------- synthetic_vaihingen_root


def test_root_holds_every_area_and_is_written_once(tmp_path):
    root = synthetic_vaihingen_root((64, 64), scene_seed=2, cache=tmp_path)
    assert root == tmp_path / "seed2_64x64" and (root / ".complete").is_file()
    assert [t.area for t in load_vaihingen(root, "validation")] == list(watlib.data.VAIHINGEN_SPLIT["validation"])
    assert len(list((root / "gts").glob("*.tif"))) == len(VAIHINGEN_AREAS)
    first = VaihingenLayout().paths(root, 5)["irrg"]
    stamp = first.stat().st_mtime_ns
    os.utime(first, ns=(stamp - 10**9, stamp - 10**9))  # a rewrite would change it back
    assert synthetic_vaihingen_root((64, 64), scene_seed=2, cache=tmp_path) == root
    assert first.stat().st_mtime_ns == stamp - 10**9
    # the scenes are those of write_synthetic_vaihingen with the same size and seed
    alone = write_synthetic_vaihingen(tmp_path / "alone", areas=[5], size=(64, 64), seed=2)
    assert alone[0].read_bytes() == first.read_bytes()


def test_root_without_its_marker_is_completed(tmp_path):
    root = tmp_path / "seed0_64x64"
    write_synthetic_vaihingen(root, areas=[1], size=(64, 64), seed=0)  # an interrupted first call
    assert synthetic_vaihingen_root((64, 64), cache=tmp_path) == root
    assert (root / ".complete").is_file() and len(list((root / "top").glob("*.tif"))) == len(VAIHINGEN_AREAS)


def test_root_defaults_to_the_watlib_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = synthetic_vaihingen_root((64, 64), scene_seed=4)
    assert root == watlib.data.cache_dir() / "vaihingen_synthetic" / "seed4_64x64"
    assert root == tmp_path / "xdg" / "watlib" / "vaihingen_synthetic" / "seed4_64x64"
    assert read_vaihingen_tile(root, 38).image.shape == (5, 64, 64)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"scene_size": (64, 32)}, ValueError, r"scene_size\[1\] must be an int >= 64, got 32"),
        ({"scene_size": 64}, TypeError, "scene_size must be a"),
        ({"scene_seed": -1}, ValueError, "scene_seed must be an int >= 0, got -1"),
        ({"scene_seed": 1.0}, TypeError, "scene_seed must be an int, got 1.0 of type float"),
        ({"cache": 3}, TypeError, "cache must be a str or os.PathLike, got 3 of type int"),
    ],
)
def test_root_arguments_are_checked(kwargs, error, match, tmp_path):
    arguments = {"cache": tmp_path, **kwargs}
    with pytest.raises(error, match=match):
        synthetic_vaihingen_root(**arguments)
    assert not list(tmp_path.iterdir())
