"""Tests of watlib.data.vaihingen: the split, the colour code, the loader end to end on
synthetic tiles written in the ISPRS layout (checked against an independent rasterio read of
the files), and every error path. The synthetic scenes themselves are tested in
test_synthetic.py.

The real archives need a registration, so every file here is written by
``write_synthetic_vaihingen`` (or rewritten with rasterio to break it) in a temporary folder.
"""

import re
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

import watlib.data
from watlib.costs import class_names
from watlib.data import DatasetNotFoundError, write_synthetic_vaihingen
from watlib.data.vaihingen import (
    ISPRS_VAIHINGEN_URL,
    VAIHINGEN_AREAS,
    VAIHINGEN_CHANNELS,
    VAIHINGEN_CLASSES,
    VAIHINGEN_COLORS,
    VAIHINGEN_CRS,
    VAIHINGEN_SPLIT,
    VaihingenLayout,
    VaihingenTile,
    colors_to_labels,
    labels_to_colors,
    load_vaihingen,
    read_vaihingen_tile,
)

SIZE = (96, 128)
AREAS = (1, 2, 11)  # a training, a test and a validation tile
# written from the ISPRS release notes and Volpi & Tuia (2017), independently of the module
ISPRS_LABELLED = {1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37}
ISPRS_TEST = {2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38}
VOLPI_TUIA_VALIDATION = {11, 15, 28, 30, 34}
COLOURS = {  # (R, G, B) of the ISPRS ground truth, by class name
    "impervious surfaces": (255, 255, 255),
    "building": (0, 0, 255),
    "low vegetation": (0, 255, 255),
    "tree": (0, 255, 0),
    "car": (255, 255, 0),
    "clutter": (255, 0, 0),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A folder with three synthetic tiles of 96 x 128 in the default layout."""
    folder = tmp_path_factory.mktemp("vaihingen")
    write_synthetic_vaihingen(folder, areas=AREAS, size=SIZE, seed=3)
    return folder


@pytest.fixture
def one_tile(tmp_path):
    """A folder with one small synthetic tile (area 1) that a test may break."""
    write_synthetic_vaihingen(tmp_path, areas=[1], size=(64, 64), seed=0)
    return tmp_path


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # the nDSM JPEG
        with rasterio.open(path) as dataset:
            return dataset.read(), dataset.profile


def _rewrite(path, data):
    """Replace ``path`` by a GeoTIFF holding ``data`` (bands, H, W), 9 cm pixels."""
    with rasterio.open(
        path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=data.shape[0],
        dtype=data.dtype, crs=VAIHINGEN_CRS, transform=Affine(0.09, 0, 496000, 0, -0.09, 5420000),
    ) as dataset:
        dataset.write(data)


# ----------------------------------------------------------------------------- split and classes


def test_split_is_11_5_17_disjoint_and_covers_the_33_tiles():
    counts = {name: len(areas) for name, areas in VAIHINGEN_SPLIT.items()}
    assert counts == {"train": 11, "validation": 5, "test": 17}
    train, validation, test = (set(VAIHINGEN_SPLIT[k]) for k in ("train", "validation", "test"))
    assert not train & validation and not train & test and not validation & test
    assert train | validation | test == set(VAIHINGEN_AREAS) and len(VAIHINGEN_AREAS) == 33
    assert set(range(1, 39)) - set(VAIHINGEN_AREAS) == {9, 18, 19, 25, 36}
    assert validation == VOLPI_TUIA_VALIDATION and train | validation == ISPRS_LABELLED
    assert test == ISPRS_TEST and 12 in test  # the paper's Figure 4 shows test tile 12
    with pytest.raises(TypeError):
        VAIHINGEN_SPLIT["train"] = (1,)


def test_classes_and_colours_follow_the_isprs_order():
    assert list(VAIHINGEN_CLASSES) == class_names("vaihingen") == list(COLOURS)
    assert VAIHINGEN_COLORS.dtype == np.uint8 and VAIHINGEN_COLORS.shape == (6, 3)
    assert [tuple(c) for c in VAIHINGEN_COLORS.tolist()] == list(COLOURS.values())
    assert not VAIHINGEN_COLORS.flags.writeable
    assert len(VAIHINGEN_CHANNELS) == 5
    assert set(watlib.data.vaihingen.__all__) <= set(watlib.data.__all__)


# ----------------------------------------------------------------------------- colour code


def test_colours_and_labels_round_trip_in_both_channel_orders():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, size=(7, 9))
    rgb = labels_to_colors(labels)
    assert rgb.shape == (7, 9, 3) and rgb.dtype == np.uint8
    for k, name in enumerate(VAIHINGEN_CLASSES):
        assert (rgb[labels == k] == COLOURS[name]).all()
    decoded = colors_to_labels(rgb)
    assert decoded.dtype == np.int64 and (decoded == labels).all()
    assert (colors_to_labels(np.ascontiguousarray(rgb.transpose(2, 0, 1))) == labels).all()
    assert (labels_to_colors(decoded) == rgb).all()


def test_unknown_colour_names_the_source_the_colour_and_its_pixels():
    rgb = labels_to_colors(np.zeros((4, 5), np.int64))
    rgb[0, :3] = (10, 20, 30)
    rgb[1, 0] = (0, 0, 0)
    with pytest.raises(ValueError) as err:
        colors_to_labels(rgb, source="gts/top_mosaic_09cm_area7.tif")
    message = str(err.value)
    assert message.startswith("gts/top_mosaic_09cm_area7.tif: 4 of 20 pixels")
    assert "(10, 20, 30) on 3 pixels" in message and "(0, 0, 0) on 1 pixels" in message
    assert "eroded" in message  # black is the eroded ground truth's boundary colour


def test_colour_code_rejects_bad_arrays():
    with pytest.raises(TypeError, match="uint8"):
        colors_to_labels(np.zeros((2, 2, 3), np.int64))
    with pytest.raises(TypeError, match="numpy array"):
        colors_to_labels([[[255, 255, 255]]])
    with pytest.raises(ValueError, match=r"\(H, W, 3\) or \(3, H, W\)"):
        colors_to_labels(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 6\), got 6"):
        labels_to_colors(np.array([[0, 6]]))
    with pytest.raises(ValueError, match="got -1"):
        labels_to_colors(np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        labels_to_colors(np.zeros((2, 2)))


# ----------------------------------------------------------------------------- loader end to end


def test_loader_reads_the_written_tiles_with_documented_scaling(root):
    for area in AREAS:
        tile = read_vaihingen_tile(root, area)
        H, W = SIZE
        assert tile.area == area and tile.image.shape == (5, H, W) and tile.labels.shape == (H, W)
        assert tile.image.dtype == np.float32 and tile.labels.dtype == np.int64
        assert tile.image.min() >= 0 and tile.image.max() <= 1
        assert 0 <= tile.labels.min() and tile.labels.max() < 6
        assert set(np.unique(tile.labels)) == set(range(6)), "every class in every scene"
        # an independent read of the four files
        irrg, profile = _read(tile.paths["irrg"])
        dsm, _ = _read(tile.paths["dsm"])
        ndsm, ndsm_profile = _read(tile.paths["ndsm"])
        gts, _ = _read(tile.paths["labels"])
        assert profile["driver"] == "GTiff" and ndsm_profile["driver"] == "JPEG"
        np.testing.assert_allclose(tile.image[:3], irrg / 255.0, rtol=0, atol=1e-7)
        np.testing.assert_allclose(tile.image[4], ndsm[0] / 255.0, rtol=0, atol=1e-7)
        assert tile.dsm_range == (float(dsm.min()), float(dsm.max()))
        low, high = tile.dsm_range
        assert tile.image[3].min() == 0 and tile.image[3].max() == 1
        np.testing.assert_allclose(low + tile.image[3] * (high - low), dsm[0], atol=1e-3)
        assert (labels_to_colors(tile.labels) == gts.transpose(1, 2, 0)).all()


def test_load_vaihingen_reads_a_split_in_the_order_given(root):
    assert [t.area for t in load_vaihingen(root, "validation", areas=[11])] == [11]
    assert [t.area for t in load_vaihingen(root, "test", areas=[2])] == [2]
    two = load_vaihingen(root, "train", areas=(1,))
    assert (two[0].labels == read_vaihingen_tile(root, 1).labels).all()


def test_custom_layout_is_used_by_writer_and_reader(tmp_path):
    layout = VaihingenLayout(
        irrg="a/irrg_{area:02d}.tif", dsm="a/dsm_{area}.tif", ndsm="b/n{area}.jpg", labels="c/gt{area}.tif"
    )
    paths = write_synthetic_vaihingen(tmp_path, areas=[5], size=(64, 64), layout=layout)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "a/irrg_05.tif", "a/dsm_5.tif", "b/n5.jpg", "c/gt5.tif"
    ]
    assert read_vaihingen_tile(tmp_path, 5, layout).image.shape == (5, 64, 64)
    with pytest.raises(DatasetNotFoundError):  # the default layout does not find them
        read_vaihingen_tile(tmp_path, 5)


# ----------------------------------------------------------------------------- errors


def test_missing_file_names_it_the_layout_and_the_registration(one_tile):
    path = VaihingenLayout().paths(one_tile, 1)["ndsm"]
    path.unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        read_vaihingen_tile(one_tile, 1)
    message = str(err.value)
    assert str(path) in message and "nDSM" in message
    assert "VaihingenLayout(" in message and "top/top_mosaic_09cm_area{area}.tif" in message
    assert ISPRS_VAIHINGEN_URL in message and "registration" in message and "write_synthetic_vaihingen" in message


def test_load_vaihingen_lists_every_missing_file_at_once(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_vaihingen(tmp_path, "validation")
    message = str(err.value)
    assert message.startswith(f"vaihingen: 20 file(s) missing under {tmp_path}")
    for area in VAIHINGEN_SPLIT["validation"]:
        assert f"top_mosaic_09cm_area{area}.tif" in message


def test_unexpected_colour_names_the_ground_truth_file(one_tile):
    path = VaihingenLayout().paths(one_tile, 1)["labels"]
    gts, _ = _read(path)
    gts[:, 5:7, 5] = 0  # two black pixels
    _rewrite(path, gts)
    with pytest.raises(ValueError, match=re.escape(f"{path}: 2 of 4096 pixels")):
        read_vaihingen_tile(one_tile, 1)


def test_size_mismatch_names_the_files(one_tile):
    paths = VaihingenLayout().paths(one_tile, 1)
    _rewrite(paths["dsm"], np.zeros((1, 64, 65), np.float32))
    with pytest.raises(ValueError) as err:
        read_vaihingen_tile(one_tile, 1)
    message = str(err.value)
    assert "same size" in message and f"{paths['dsm']}: 64 x 65" in message and f"{paths['irrg']}: 64 x 64" in message


@pytest.mark.parametrize(
    "name, data, match",
    [
        ("irrg", np.zeros((4, 64, 64), np.uint8), "must have 3 bands .* got 4 bands"),
        ("labels", np.full((1, 64, 64), 255, np.uint8), "must have 3 bands .* got 1 bands"),
        ("dsm", np.zeros((2, 64, 64), np.float32), "must have 1 band .* got 2 bands"),
        ("irrg", np.zeros((3, 64, 64), np.uint16), "must be uint8, got uint16"),
        ("dsm", np.full((1, 64, 64), np.nan, np.float32), "must be finite everywhere .* got 4096 such pixels"),
    ],
)
def test_wrong_bands_or_dtype_name_the_file(one_tile, name, data, match):
    path = VaihingenLayout().paths(one_tile, 1)[name]
    _rewrite(path, data)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + match):
        read_vaihingen_tile(one_tile, 1)


def test_a_file_that_is_no_raster_is_named(one_tile):
    path = VaihingenLayout().paths(one_tile, 1)["ndsm"]
    path.write_text("not an image")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": rasterio cannot read"):
        read_vaihingen_tile(one_tile, 1)


def test_flat_dsm_gives_a_zero_channel_not_nan(one_tile):
    _rewrite(VaihingenLayout().paths(one_tile, 1)["dsm"], np.full((1, 64, 64), 271.5, np.float32))
    tile = read_vaihingen_tile(one_tile, 1)
    assert (tile.image[3] == 0).all() and tile.dsm_range == (271.5, 271.5)


def test_unknown_areas_splits_and_arguments_are_rejected(root, tmp_path):
    with pytest.raises(ValueError, match="area must be one of the 33 Vaihingen area numbers .* got 9"):
        read_vaihingen_tile(root, 9)
    with pytest.raises(ValueError, match="area must be an int >= 1, got 0"):
        read_vaihingen_tile(root, 0)
    with pytest.raises(TypeError, match="area must be an int"):
        read_vaihingen_tile(root, "1")
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'validation', 'test'\), got 'val'"):
        load_vaihingen(root, "val")
    with pytest.raises(ValueError, match=r"areas must be areas of the 'train' split .* got \[2\]"):
        load_vaihingen(root, "train", areas=[1, 2])
    with pytest.raises(ValueError, match="must not repeat"):
        load_vaihingen(root, "train", areas=[1, 1])
    with pytest.raises(ValueError, match=r"areas\[0\] must be one of the 33 .* got 40"):
        load_vaihingen(root, "train", areas=[40])
    with pytest.raises(TypeError, match="layout must be a VaihingenLayout"):
        read_vaihingen_tile(root, 1, layout={"irrg": "x"})
    with pytest.raises(TypeError, match="root must be a str or os.PathLike, got 3 of type int"):
        read_vaihingen_tile(3, 1)
    assert not list(tmp_path.iterdir()), "nothing written"


@pytest.mark.parametrize("read", [lambda r: read_vaihingen_tile(r, 1), lambda r: load_vaihingen(r, "train")])
def test_a_root_that_does_not_exist_is_named_and_never_created(read, tmp_path):
    root = tmp_path / "nonexistent" / "vaihingen"
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"vaihingen: root {root} does not exist")) as err:
        read(root)
    message = str(err.value)
    assert "never creates a data root" in message and ISPRS_VAIHINGEN_URL in message
    assert "write_synthetic_vaihingen" in message
    assert not root.exists() and not root.parent.exists()
    afile = tmp_path / "a file"
    afile.write_text("not a folder")
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"root {afile} is not a folder")):
        read(afile)


def test_layout_patterns_are_checked():
    with pytest.raises(ValueError, match=r"dsm must contain the placeholder \{area\}, got 'dsm.tif'"):
        VaihingenLayout(dsm="dsm.tif")
    with pytest.raises(ValueError, match="only placeholder is"):
        VaihingenLayout(ndsm="{tile}.jpg")
    with pytest.raises(ValueError, match="relative to root"):
        VaihingenLayout(labels="/abs/{area}.tif")
    with pytest.raises(ValueError, match="four different files"):
        VaihingenLayout(labels="top/top_mosaic_09cm_area{area}.tif")
    with pytest.raises(TypeError, match="irrg must be a str"):
        VaihingenLayout(irrg=3)


def test_tile_checks_its_arrays():
    image, labels = np.zeros((5, 2, 3), np.float32), np.zeros((2, 3), np.int64)
    with pytest.raises(TypeError, match="image must be a float32"):
        VaihingenTile(1, image.astype(np.float64), labels, {}, (0.0, 0.0))
    with pytest.raises(ValueError, match=r"labels must have shape \(H, W\) = \(2, 3\)"):
        VaihingenTile(1, image, labels[:, :2], {}, (0.0, 0.0))
    with pytest.raises(TypeError, match="labels must be an int64"):
        VaihingenTile(1, image, labels.astype(np.int32), {}, (0.0, 0.0))
