r"""The ISPRS Vaihingen 2-D semantic labelling data (Section 5.2 of the paper), read with rasterio.

The benchmark [1]_ covers Vaihingen an der Enz with 33 true-orthophoto tiles of 9 cm pixels.
Each tile ``N`` is four files, found under a folder ``root`` through the filename patterns
of a :class:`VaihingenLayout` (defaults: the folders of the ISPRS archives):

=========  ==========================================================  ======  =======
 field      default pattern                                            bands   dtype
=========  ==========================================================  ======  =======
 irrg       ``top/top_mosaic_09cm_area{area}.tif``                      3       uint8
 dsm        ``dsm/dsm_09cm_matching_area{area}.tif``                    1       float
 ndsm       ``ndsm/dsm_09cm_matching_area{area}_normalized.jpg``        1       uint8
 labels     ``gts/top_mosaic_09cm_area{area}.tif``                      3       uint8
=========  ==========================================================  ======  =======

``irrg`` is the orthophoto (near infrared, red, green) and ``dsm`` the digital surface model
in metres, both of ``ISPRS_semantic_labeling_Vaihingen.zip``; ``ndsm`` is Gerke's
normalised DSM [2]_ (height above ground as an 8-bit JPEG); ``labels`` is the colour-coded
ground truth of ``ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip`` (the
*complete*, not the eroded, one; it covers all 33 tiles). The archives need a registration
(:data:`ISPRS_VAIHINGEN_URL`) and cannot be downloaded automatically.

:func:`read_vaihingen_tile` stacks a tile into the paper's five input channels
(:data:`VAIHINGEN_CHANNELS`) and decodes its labels (:func:`colors_to_labels`);
:func:`load_vaihingen` reads the tiles of a split (:data:`VAIHINGEN_SPLIT`).

A data root that does not exist is an error naming it (it is never created). For tests and
smoke runs, :func:`~watlib.data.synthetic.write_synthetic_vaihingen` (:mod:`watlib.data.synthetic`)
writes synthetic scenes in exactly this layout and format (GeoTIFFs and the nDSM JPEG), which
the loader reads like real tiles: it has no notion of a synthetic tile.

References
----------
.. [1] ISPRS 2-D Semantic Labeling Contest, Vaihingen.
   https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx
   (data: Cramer, M. (2010). The DGPF test on digital aerial camera evaluation: overview
   and test design. Photogrammetrie - Fernerkundung - Geoinformation 2010(2), 73-82).
.. [2] Gerke, M. (2015). Use of the Stair Vision Library within the ISPRS 2D Semantic
   Labeling Benchmark (Vaihingen). Technical report, ITC, University of Twente.
.. [3] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N. (2019).
   Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936 (Section 5.2).
.. [4] Volpi, M., Tuia, D. (2017). Dense semantic labeling of subdecimeter resolution
   images with convolutional neural networks. IEEE Transactions on Geoscience and Remote
   Sensing 55(2), 881-893.
"""

from __future__ import annotations

import dataclasses
import types
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._checks import check_choice, check_int, check_path
from .._extras import needs_extra
from .classification import DatasetNotFoundError
from .registry import dataset_info

__all__ = [
    "ISPRS_VAIHINGEN_URL",
    "VAIHINGEN_AREAS",
    "VAIHINGEN_CHANNELS",
    "VAIHINGEN_CLASSES",
    "VAIHINGEN_COLORS",
    "VAIHINGEN_CRS",
    "VAIHINGEN_PIXEL_SIZE",
    "VAIHINGEN_SPLIT",
    "VaihingenLayout",
    "VaihingenTile",
    "colors_to_labels",
    "labels_to_colors",
    "load_vaihingen",
    "read_vaihingen_tile",
]

#: Where the ISPRS Vaihingen archives are requested (registration required).
ISPRS_VAIHINGEN_URL = "https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx"

#: The six classes in label order (0 impervious surfaces ... 5 clutter), the ISPRS order
#: (``dataset_info("vaihingen").classes``).
VAIHINGEN_CLASSES = dataset_info("vaihingen").classes

#: Colour of each class in the ISPRS ground truth, row k for label k, as (R, G, B) uint8
#: (read-only): impervious surfaces white, building blue, low vegetation cyan, tree green,
#: car yellow, clutter red.
VAIHINGEN_COLORS = np.array(
    [[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0], [255, 255, 0], [255, 0, 0]],
    dtype=np.uint8,
)
VAIHINGEN_COLORS.setflags(write=False)

#: The five input channels of :attr:`VaihingenTile.image`, in order.
VAIHINGEN_CHANNELS = ("near infrared", "red", "green", "DSM", "nDSM")

# The split. The ISPRS initial release labelled 16 tiles and held 17 out for testing; the
# paper (Section 5.2) uses "the initial data split (11 tiles for training, 5 for validation
# and 17 for testing)" without naming the 5 validation tiles. We take those of Volpi & Tuia
# (2017, IEEE TGRS 55(2), reference [4] of the module), whose second author is an author of
# the paper: validation 11, 15, 28, 30, 34 and training the other 11 labelled tiles. The 17
# test tiles are the ISPRS held-out ones (the paper's Figure 4 shows test tile 12).
_ISPRS_LABELLED = (1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37)
_VOLPI_TUIA_VALIDATION = (11, 15, 28, 30, 34)
_ISPRS_TEST = (2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38)

#: Area numbers of each split (read-only mapping): 11 training, 5 validation and 17 test
#: tiles. The validation tiles are those of Volpi & Tuia (2017); see the module source.
VAIHINGEN_SPLIT = types.MappingProxyType(
    {
        "train": tuple(a for a in _ISPRS_LABELLED if a not in _VOLPI_TUIA_VALIDATION),
        "validation": _VOLPI_TUIA_VALIDATION,
        "test": _ISPRS_TEST,
    }
)

#: All 33 area numbers, ascending (1 to 38 without 9, 18, 19, 25 and 36).
VAIHINGEN_AREAS = tuple(sorted(a for areas in VAIHINGEN_SPLIT.values() for a in areas))

#: Ground sampling distance of the tiles, metres per pixel.
VAIHINGEN_PIXEL_SIZE = 0.09

#: Coordinate reference system written into the synthetic GeoTIFFs: WGS 84 / UTM zone 32N,
#: the zone of Vaihingen an der Enz.
VAIHINGEN_CRS = "EPSG:32632"

_FILES = ("irrg", "dsm", "ndsm", "labels")
_DESCRIPTION = {
    "irrg": "IRRG orthophoto",
    "dsm": "DSM",
    "ndsm": "nDSM",
    "labels": "ground truth",
}
# (bands, dtype rule) of each file; None: any real dtype.
_FORMAT = {
    "irrg": (3, np.uint8, "3 bands (near infrared, red, green)"),
    "dsm": (1, None, "1 band (height in metres)"),
    "ndsm": (1, np.uint8, "1 band (height above ground)"),
    "labels": (3, np.uint8, "3 bands (red, green, blue class colours)"),
}
_COLOR_CODES = (
    (VAIHINGEN_COLORS[:, 0].astype(np.int32) << 16)
    | (VAIHINGEN_COLORS[:, 1].astype(np.int32) << 8)
    | VAIHINGEN_COLORS[:, 2].astype(np.int32)
)


def check_area(area, argname="area"):
    """``area`` as an int, one of the 33 :data:`VAIHINGEN_AREAS`, or an error naming ``argname``.

    Shared by the reader and :mod:`watlib.data.synthetic` (not in ``__all__``).

    Examples
    --------
    >>> check_area(9)
    Traceback (most recent call last):
    ...
    ValueError: area must be one of the 33 Vaihingen area numbers [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 37, 38], got 9
    """
    area = check_int(argname, area, ge=1)
    if area not in VAIHINGEN_AREAS:
        raise ValueError(
            f"{argname} must be one of the 33 Vaihingen area numbers {list(VAIHINGEN_AREAS)}, got {area}"
        )
    return area


def check_areas(areas, allowed=VAIHINGEN_AREAS, what="Vaihingen"):
    """``areas`` as a tuple of distinct area numbers, each in ``allowed`` (described by ``what``).

    Shared by the reader and :mod:`watlib.data.synthetic` (not in ``__all__``).

    Examples
    --------
    >>> check_areas([3, 1])
    (3, 1)
    >>> check_areas([1, 1])
    Traceback (most recent call last):
    ...
    ValueError: areas must not repeat an area, got [1, 1] (repeated: [1])
    """
    if isinstance(areas, (str, bytes)) or not hasattr(areas, "__iter__"):
        raise TypeError(f"areas must be a sequence of area numbers, got {type(areas).__name__} {areas!r}")
    areas = tuple(check_area(a, f"areas[{i}]") for i, a in enumerate(areas))
    if not areas:
        raise ValueError("areas must hold at least one area number, got an empty sequence")
    repeated = sorted({a for a in areas if areas.count(a) > 1})
    if repeated:
        raise ValueError(f"areas must not repeat an area, got {list(areas)} (repeated: {repeated})")
    outside = [a for a in areas if a not in allowed]
    if outside:
        raise ValueError(f"areas must be areas of {what} {list(allowed)}, got {outside}")
    return areas


@dataclasses.dataclass(frozen=True)
class VaihingenLayout:
    r"""Where the four files of tile ``area`` lie under a data folder ``root``.

    Each field is a path pattern relative to ``root`` holding the placeholder ``{area}``
    (formatted with ``str.format``, so ``{area:02d}`` works too):

    .. math::
        \begin{aligned}
        &\mathrm{path}(f, N) = \mathrm{root} \,/\, f.\mathrm{format}(\mathrm{area}=N),\\
        &f \in \{\mathrm{irrg}, \mathrm{dsm}, \mathrm{ndsm}, \mathrm{labels}\}.
        \end{aligned}

    The defaults are the folders of the ISPRS archives: ``top/`` and ``dsm/`` of
    ``ISPRS_semantic_labeling_Vaihingen.zip``, ``ndsm/`` for Gerke's normalised DSM and
    ``gts/`` for the files of ``ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip``.
    Patterns must be relative, contain ``{area}`` and give four different files.

    Parameters
    ----------
    irrg : str
        IRRG true orthophoto (3 bands uint8: near infrared, red, green).
    dsm : str
        Digital surface model (1 band, metres).
    ndsm : str
        Normalised DSM (1 band uint8).
    labels : str
        Colour-coded ground truth (3 bands uint8, :data:`VAIHINGEN_COLORS`).

    References
    ----------
    .. [1] ISPRS 2-D Semantic Labeling Contest, Vaihingen. :data:`ISPRS_VAIHINGEN_URL`.
    .. [2] Gerke, M. (2015). Use of the Stair Vision Library within the ISPRS 2D Semantic
       Labeling Benchmark (Vaihingen). Technical report, ITC, University of Twente.

    Examples
    --------
    >>> layout = VaihingenLayout()
    >>> layout.paths("/data/vaihingen", 1)["ndsm"].as_posix()
    '/data/vaihingen/ndsm/dsm_09cm_matching_area1_normalized.jpg'
    >>> VaihingenLayout(labels="gts_eroded/area{area:02d}.tif").paths("r", 3)["labels"].as_posix()
    'r/gts_eroded/area03.tif'
    """

    irrg: str = "top/top_mosaic_09cm_area{area}.tif"
    dsm: str = "dsm/dsm_09cm_matching_area{area}.tif"
    ndsm: str = "ndsm/dsm_09cm_matching_area{area}_normalized.jpg"
    labels: str = "gts/top_mosaic_09cm_area{area}.tif"

    def __post_init__(self):
        formatted = {}
        for name in _FILES:
            pattern = getattr(self, name)
            if not isinstance(pattern, str):
                raise TypeError(f"{name} must be a str path pattern, got {type(pattern).__name__} {pattern!r}")
            try:
                first, second = pattern.format(area=1), pattern.format(area=2)
            except (KeyError, IndexError, ValueError) as err:
                raise ValueError(
                    f"{name} must be a path pattern whose only placeholder is {{area}}, got {pattern!r} ({err!r})"
                ) from None
            if first == second:
                raise ValueError(f"{name} must contain the placeholder {{area}}, got {pattern!r}")
            if Path(first).is_absolute():
                raise ValueError(f"{name} must be a path relative to root, got the absolute {pattern!r}")
            formatted[name] = Path(first)
        if len(set(formatted.values())) < len(_FILES):
            raise ValueError(f"the four patterns must name four different files, got {self!r}")

    def paths(self, root, area):
        """The four files of tile ``area`` under ``root``.

        Parameters
        ----------
        root : str or os.PathLike
            Data folder.
        area : int
            Area number, one of :data:`VAIHINGEN_AREAS`.

        Returns
        -------
        paths : dict of str to pathlib.Path
            Keys ``"irrg"``, ``"dsm"``, ``"ndsm"``, ``"labels"``.

        Examples
        --------
        >>> sorted(VaihingenLayout().paths("root", 5))
        ['dsm', 'irrg', 'labels', 'ndsm']
        """
        root = check_path("root", root)
        area = check_area(area)
        return {name: root / getattr(self, name).format(area=area) for name in _FILES}


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class VaihingenTile:
    r"""One Vaihingen tile: the five input channels, the labels and where they came from.

    The channels of ``image`` (:data:`VAIHINGEN_CHANNELS`) are scaled as
    :func:`read_vaihingen_tile` documents; ``dsm_range`` gives the DSM back in metres:

    .. math::
        \mathrm{DSM} = d_{\min} + \mathrm{image}[3] \, (d_{\max} - d_{\min}).

    Parameters
    ----------
    area : int
        Area number.
    image : numpy.ndarray, shape (5, H, W), float32
        Near infrared, red, green, DSM and nDSM, each in [0, 1].
    labels : numpy.ndarray, shape (H, W), int64
        Class of each pixel in [0, 6) (:data:`VAIHINGEN_CLASSES`).
    paths : dict of str to pathlib.Path
        The files read, keyed as :meth:`VaihingenLayout.paths`.
    dsm_range : tuple of float
        :math:`(d_{\min}, d_{\max})`, the DSM's extremes in metres.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2: five input channels, IRRG, DSM and nDSM).

    Examples
    --------
    >>> tile = VaihingenTile(1, np.zeros((5, 2, 3), np.float32), np.zeros((2, 3), np.int64), {}, (0.0, 0.0))
    >>> tile
    VaihingenTile(area=1, image=float32[5, 2, 3], labels=int64[2, 3])
    """

    area: int
    image: np.ndarray
    labels: np.ndarray
    paths: Mapping
    dsm_range: tuple

    def __post_init__(self):
        if not isinstance(self.image, np.ndarray) or self.image.dtype != np.float32:
            raise TypeError(f"image must be a float32 numpy array, got {_describe(self.image)}")
        if self.image.ndim != 3 or self.image.shape[0] != len(VAIHINGEN_CHANNELS):
            raise ValueError(f"image must have shape (5, H, W), got {self.image.shape}")
        if not isinstance(self.labels, np.ndarray) or self.labels.dtype != np.int64:
            raise TypeError(f"labels must be an int64 numpy array, got {_describe(self.labels)}")
        if self.labels.shape != self.image.shape[1:]:
            raise ValueError(
                f"labels must have shape (H, W) = {self.image.shape[1:]} like image, got {self.labels.shape}"
            )

    def __repr__(self):
        return (
            f"VaihingenTile(area={self.area}, image=float32[{', '.join(map(str, self.image.shape))}], "
            f"labels=int64[{', '.join(map(str, self.labels.shape))}])"
        )


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return f"{type(value).__name__} {value!r}"


def colors_to_labels(rgb, source=None):
    r"""Labels of a colour-coded Vaihingen ground truth.

    Pixel colour :math:`c` gets the label :math:`k` of the row of :data:`VAIHINGEN_COLORS`
    equal to it:

    .. math::
        \mathrm{labels}[h, w] = k \iff \mathrm{rgb}[h, w, :] = \mathrm{VAIHINGEN\_COLORS}[k, :].

    Any other colour is an error (never a silent nearest colour): the eroded ground truth
    of the benchmark, whose class boundaries are black, is rejected; use the complete one.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3) or (3, H, W), uint8
        Red, green, blue; channels last when the last axis has length 3, else first.
    source : str or os.PathLike, optional
        Where ``rgb`` came from (a file name), named in the error message.

    Returns
    -------
    labels : numpy.ndarray, shape (H, W), int64
        Values in [0, 6).

    Raises
    ------
    ValueError
        If a pixel has another colour; the message names ``source``, each such colour and
        its number of pixels.

    References
    ----------
    .. [1] ISPRS 2-D Semantic Labeling Contest, Vaihingen. :data:`ISPRS_VAIHINGEN_URL`.

    Examples
    --------
    >>> rgb = VAIHINGEN_COLORS[[[0, 1], [4, 5]]]  # (2, 2, 3)
    >>> colors_to_labels(rgb)
    array([[0, 1],
           [4, 5]])
    >>> colors_to_labels(np.zeros((1, 1, 3), np.uint8), source="gts/area1.tif")
    Traceback (most recent call last):
    ...
    ValueError: gts/area1.tif: 1 of 1 pixels have a colour that is no Vaihingen class colour: (0, 0, 0) on 1 pixels. Black marks the class boundaries of the eroded ground truth; use the complete (non-eroded) one. The class colours are impervious surfaces (255, 255, 255), building (0, 0, 255), low vegetation (0, 255, 255), tree (0, 255, 0), car (255, 255, 0), clutter (255, 0, 0).
    """
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"rgb must be a numpy array, got {_describe(rgb)}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"rgb must be a uint8 array, got dtype {rgb.dtype}")
    if rgb.ndim != 3 or 3 not in (rgb.shape[0], rgb.shape[-1]):
        raise ValueError(f"rgb must have shape (H, W, 3) or (3, H, W), got {rgb.shape}")
    if rgb.shape[-1] != 3:
        rgb = np.moveaxis(rgb, 0, -1)
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    order = np.argsort(_COLOR_CODES)
    sorted_codes = _COLOR_CODES[order]
    position = np.minimum(np.searchsorted(sorted_codes, codes), len(sorted_codes) - 1)
    known = sorted_codes[position] == codes
    if not known.all():
        raise ValueError(_unknown_colours_message(codes[~known], codes.size, source))
    return order[position].astype(np.int64)


def _unknown_colours_message(bad_codes, n_pixels, source, shown=5):
    colours, counts = np.unique(bad_codes, return_counts=True)
    by_count = np.argsort(-counts, kind="stable")[:shown]
    listed = ", ".join(
        f"({c >> 16}, {(c >> 8) & 255}, {c & 255}) on {n} pixels"
        for c, n in zip(colours[by_count].tolist(), counts[by_count].tolist())
    )
    more = f" and {len(colours) - shown} more colours" if len(colours) > shown else ""
    eroded = (
        " Black marks the class boundaries of the eroded ground truth; use the complete (non-eroded) one."
        if 0 in colours
        else ""
    )
    legend = ", ".join(f"{name} {tuple(c.tolist())}" for name, c in zip(VAIHINGEN_CLASSES, VAIHINGEN_COLORS))
    where = "rgb" if source is None else str(source)
    return (
        f"{where}: {bad_codes.size} of {n_pixels} pixels have a colour that is no Vaihingen class colour: "
        f"{listed}{more}.{eroded} The class colours are {legend}."
    )


def labels_to_colors(labels):
    r"""The ISPRS colour of each label: the inverse of :func:`colors_to_labels`.

    .. math::
        \mathrm{rgb}[\dots, :] = \mathrm{VAIHINGEN\_COLORS}[\mathrm{labels}[\dots], :].

    Parameters
    ----------
    labels : array_like of int, shape (H, W) (any shape is accepted)
        Values in [0, 6).

    Returns
    -------
    rgb : numpy.ndarray, shape (H, W, 3), uint8
        A new array.

    References
    ----------
    .. [1] ISPRS 2-D Semantic Labeling Contest, Vaihingen. :data:`ISPRS_VAIHINGEN_URL`.

    Examples
    --------
    >>> labels_to_colors(np.array([[1, 3]]))
    array([[[  0,   0, 255],
            [  0, 255,   0]]], dtype=uint8)
    """
    array = np.asarray(labels)
    if not np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        raise TypeError(f"labels must hold integers, got dtype {array.dtype}")
    K = len(VAIHINGEN_CLASSES)
    outside = (array < 0) | (array >= K)
    if outside.any():
        raise ValueError(f"labels must lie in [0, {K}), got {array[outside].flat[0]}")
    return VAIHINGEN_COLORS[array]


def _check_root(root):
    """``root`` as a Path to an existing folder, or a DatasetNotFoundError naming it."""
    root = check_path("root", root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DatasetNotFoundError(
            f"vaihingen: root {root} {what}; watlib never creates a data root. Pass the folder "
            f"holding the ISPRS Vaihingen files in the layout of VaihingenLayout (the archives need "
            f"a registration at {ISPRS_VAIHINGEN_URL}), or write synthetic tiles there with "
            f"watlib.data.write_synthetic_vaihingen(root)."
        )
    return root


def _missing_files(root, areas, layout):
    return [
        (area, name, path)
        for area in areas
        for name, path in layout.paths(root, area).items()
        if not path.is_file()
    ]


def _not_found(root, missing, layout):
    lines = [f"vaihingen: {len(missing)} file(s) missing under {root}:"]
    lines += [f"  area {area}, {_DESCRIPTION[name]}: {path}" for area, name, path in missing]
    lines.append(
        f"Expected layout (patterns relative to root): {layout!r}. The ISPRS Vaihingen archives "
        f"(ISPRS_semantic_labeling_Vaihingen.zip, ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip "
        f"and Gerke's nDSM) need a registration at {ISPRS_VAIHINGEN_URL}, so they cannot be "
        f"downloaded automatically: request them there, extract them into root in this layout (or "
        f"pass layout=VaihingenLayout(...) describing yours). For tests, write_synthetic_vaihingen(root) "
        f"writes synthetic tiles in this layout."
    )
    return DatasetNotFoundError("\n".join(lines))


def _read_raster(path, name):
    """The bands of file ``path`` (the ``name`` file of a tile) after checking its format."""
    with needs_extra("vaihingen", "reading Vaihingen's GeoTIFF tiles"):
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    bands, dtype, rule = _FORMAT[name]
    try:
        with warnings.catch_warnings():
            # the nDSM JPEGs carry no georeferencing; the loader does not use it
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                data = dataset.read()
                nodata = dataset.nodata
    except RasterioIOError as err:
        raise ValueError(f"{path}: rasterio cannot read this {_DESCRIPTION[name]} as a raster: {err}") from err
    if data.shape[0] != bands:
        raise ValueError(f"{path}: the {_DESCRIPTION[name]} must have {rule}, got {data.shape[0]} bands")
    if dtype is not None and data.dtype != dtype:
        raise ValueError(f"{path}: the {_DESCRIPTION[name]} must be {np.dtype(dtype)}, got {data.dtype}")
    if dtype is None:
        if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
            raise ValueError(f"{path}: the {_DESCRIPTION[name]} must hold real numbers, got {data.dtype}")
        invalid = ~np.isfinite(data) if nodata is None else ~np.isfinite(data) | (data == nodata)
        if invalid.any():
            raise ValueError(
                f"{path}: the {_DESCRIPTION[name]} must be finite everywhere (no NaN, infinity or "
                f"nodata value {nodata}), got {int(invalid.sum())} such pixels"
            )
    return data


def read_vaihingen_tile(root, area, layout=None):
    r"""Read tile ``area``: its five scaled input channels and its labels.

    The channels are the orthophoto's near infrared, red and green :math:`I_c`, the DSM
    :math:`D` (metres) and the nDSM :math:`N` (uint8), scaled to [0, 1]:

    .. math::
        \begin{aligned}
        \mathrm{image}[c] &= \frac{I_c}{255}\ (c = 0, 1, 2), \qquad
        \mathrm{image}[4] = \frac{N}{255},\\
        \mathrm{image}[3] &= \frac{D - \min D}{\max D - \min D},
        \end{aligned}

    with min and max over the tile (a flat DSM, :math:`\max D = \min D`, gives 0). The DSM
    is scaled per tile because its absolute altitude (about 250-290 m in Vaihingen) says
    nothing of the class; the nDSM keeps the height above ground.
    The labels are decoded from the ground truth's colours by :func:`colors_to_labels`.

    Parameters
    ----------
    root : str or os.PathLike
        Data folder.
    area : int
        Area number, one of :data:`VAIHINGEN_AREAS`.
    layout : VaihingenLayout, optional
        File patterns; the default layout when None.

    Returns
    -------
    tile : VaihingenTile
        ``image`` float32 (5, H, W), ``labels`` int64 (H, W), ``paths``, ``dsm_range``.

    Raises
    ------
    watlib.data.DatasetNotFoundError
        If ``root`` is not an existing folder (it is not created), or a file is missing (the
        message names it, the layout and how to get the data).
    ValueError
        If a file is not a raster, has the wrong number of bands or dtype, the four files
        differ in size, the DSM has a non-finite or nodata pixel, or the ground truth an
        unknown colour (each message names the file); or if ``area`` is unknown.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2).
    .. [2] Gerke, M. (2015). Use of the Stair Vision Library within the ISPRS 2D Semantic
       Labeling Benchmark (Vaihingen). Technical report, ITC, University of Twente.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.data import write_synthetic_vaihingen
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = write_synthetic_vaihingen(root, areas=[1], size=(64, 80))
    ...     tile = read_vaihingen_tile(root, 1)
    >>> tile
    VaihingenTile(area=1, image=float32[5, 64, 80], labels=int64[64, 80])
    >>> float(tile.image.min()) >= 0.0, float(tile.image.max()) <= 1.0
    (True, True)
    """
    area = check_area(area)
    layout = check_layout(layout)
    root = _check_root(root)
    missing = _missing_files(root, [area], layout)
    if missing:
        raise _not_found(root, missing, layout)
    paths = layout.paths(root, area)
    data = {name: _read_raster(path, name) for name, path in paths.items()}
    sizes = {name: array.shape[1:] for name, array in data.items()}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{paths[name]}: {h} x {w}" for name, (h, w) in sizes.items())
        raise ValueError(
            f"area {area}: the four files of a tile must have the same size (height x width), got {listed}"
        )
    labels = colors_to_labels(np.moveaxis(data["labels"], 0, -1), source=paths["labels"])
    dsm = data["dsm"][0].astype(np.float64)
    low, high = float(dsm.min()), float(dsm.max())
    dsm_scaled = (dsm - low) / (high - low) if high > low else np.zeros_like(dsm)
    image = np.concatenate(
        [data["irrg"] / np.float32(255), dsm_scaled[None], data["ndsm"] / np.float32(255)]
    ).astype(np.float32)
    return VaihingenTile(area=area, image=image, labels=labels, paths=paths, dsm_range=(low, high))


def check_layout(layout):
    """``layout``, or the default :class:`VaihingenLayout` when None (not in ``__all__``)."""
    if layout is None:
        return VaihingenLayout()
    if not isinstance(layout, VaihingenLayout):
        raise TypeError(f"layout must be a VaihingenLayout or None, got {type(layout).__name__} {layout!r}")
    return layout


def load_vaihingen(root, split="train", layout=None, areas=None):
    r"""Read the tiles of a split of Vaihingen (11 training, 5 validation, 17 test tiles).

    Every file of every requested tile is looked for first, so one error lists all the
    missing ones; the tiles are then read by :func:`read_vaihingen_tile`. The split is
    :data:`VAIHINGEN_SPLIT`: the ISPRS initial release's 16 labelled tiles less the 5
    validation tiles of Volpi & Tuia (2017), which the paper does not list, and the 17
    ISPRS test tiles.

    .. math::
        \begin{aligned}
        \mathrm{tiles} = [\,&\mathrm{read\_vaihingen\_tile}(\mathrm{root}, N)\\
        &\text{for } N \in \mathrm{areas} \subseteq \mathrm{VAIHINGEN\_SPLIT}[\mathrm{split}]\,].
        \end{aligned}

    Parameters
    ----------
    root : str or os.PathLike
        Data folder.
    split : str
        ``"train"``, ``"validation"`` or ``"test"``.
    layout : VaihingenLayout, optional
        File patterns; the default layout when None.
    areas : sequence of int, optional
        A subset of the split's areas, read in the order given (e.g. for a smoke run);
        all of the split's when None.

    Returns
    -------
    tiles : list of VaihingenTile
        One per area. The full training split is about 1.1 GB of float32 in memory.

    Raises
    ------
    watlib.data.DatasetNotFoundError
        If ``root`` is not an existing folder (it is not created), or any file is missing.
    ValueError
        For an unknown split, an area outside the split, or a bad file (see
        :func:`read_vaihingen_tile`).

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936.
    .. [2] Volpi, M., Tuia, D. (2017). Dense semantic labeling of subdecimeter resolution
       images with convolutional neural networks. IEEE TGRS 55(2), 881-893.

    Examples
    --------
    >>> import tempfile
    >>> from watlib.data import write_synthetic_vaihingen
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = write_synthetic_vaihingen(root, areas=[11, 15], size=(64, 64))
    ...     tiles = load_vaihingen(root, "validation", areas=[15, 11])
    >>> [tile.area for tile in tiles]
    [15, 11]
    """
    check_choice("split", split, VAIHINGEN_SPLIT)
    layout = check_layout(layout)
    allowed = VAIHINGEN_SPLIT[split]
    areas = allowed if areas is None else check_areas(areas, allowed, f"the {split!r} split")
    root = _check_root(root)
    missing = _missing_files(root, areas, layout)
    if missing:
        raise _not_found(root, missing, layout)
    return [read_vaihingen_tile(root, area, layout) for area in areas]
