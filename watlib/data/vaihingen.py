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

For tests and smoke runs, :func:`write_synthetic_vaihingen` writes synthetic scenes in
exactly this layout and format (GeoTIFFs and the nDSM JPEG), which the loader reads like
real tiles: it has no notion of a synthetic tile.

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
import math
import types
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy import ndimage

from .._validation import check_int as _check_int
from ..costs import class_names
from .classification import DatasetNotFoundError, _check_name, _check_path

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
    "write_synthetic_vaihingen",
]

#: Where the ISPRS Vaihingen archives are requested (registration required).
ISPRS_VAIHINGEN_URL = "https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx"

#: The six classes in label order (0 impervious surfaces ... 5 clutter), the ISPRS order.
VAIHINGEN_CLASSES = tuple(class_names("vaihingen"))

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


def _check_area(area, argname="area"):
    area = _check_int(area, argname, 1)
    if area not in VAIHINGEN_AREAS:
        raise ValueError(
            f"{argname} must be one of the 33 Vaihingen area numbers {list(VAIHINGEN_AREAS)}, got {area}"
        )
    return area


def _check_areas(areas, allowed, what):
    """``areas`` as a tuple of distinct area numbers, each in ``allowed`` (described by ``what``)."""
    if isinstance(areas, (str, bytes)) or not hasattr(areas, "__iter__"):
        raise TypeError(f"areas must be a sequence of area numbers, got {type(areas).__name__} {areas!r}")
    areas = tuple(_check_area(a, f"areas[{i}]") for i, a in enumerate(areas))
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
    (formatted with :meth:`str.format`, so ``{area:02d}`` works too):

    .. math::
        \mathrm{path}(f, N) = \mathrm{root} \,/\, f.\mathrm{format}(\mathrm{area}=N),
        \qquad f \in \{\mathrm{irrg}, \mathrm{dsm}, \mathrm{ndsm}, \mathrm{labels}\}.

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
        root = _check_path(root, "root")
        area = _check_area(area)
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
        \mathrm{image}[c] = \frac{I_c}{255}\ (c = 0, 1, 2), \qquad
        \mathrm{image}[3] = \frac{D - \min D}{\max D - \min D}, \qquad
        \mathrm{image}[4] = \frac{N}{255},

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
        If a file is missing (the message names it, the layout and how to get the data).
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
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = write_synthetic_vaihingen(root, areas=[1], size=(64, 80))
    ...     tile = read_vaihingen_tile(root, 1)
    >>> tile
    VaihingenTile(area=1, image=float32[5, 64, 80], labels=int64[64, 80])
    >>> float(tile.image.min()) >= 0.0, float(tile.image.max()) <= 1.0
    (True, True)
    """
    root = _check_path(root, "root")
    area = _check_area(area)
    layout = _check_layout(layout)
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


def _check_layout(layout):
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
        \mathrm{tiles} = [\mathrm{read\_vaihingen\_tile}(\mathrm{root}, N)
        \ \text{for } N \in \mathrm{areas} \subseteq \mathrm{VAIHINGEN\_SPLIT}[\mathrm{split}]].

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
        If any file is missing.
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
    >>> with tempfile.TemporaryDirectory() as root:
    ...     _ = write_synthetic_vaihingen(root, areas=[11, 15], size=(64, 64))
    ...     tiles = load_vaihingen(root, "validation", areas=[15, 11])
    >>> [tile.area for tile in tiles]
    [15, 11]
    """
    root = _check_path(root, "root")
    _check_name(split, tuple(VAIHINGEN_SPLIT), "split")
    layout = _check_layout(layout)
    allowed = VAIHINGEN_SPLIT[split]
    areas = allowed if areas is None else _check_areas(areas, allowed, f"the {split!r} split")
    missing = _missing_files(root, areas, layout)
    if missing:
        raise _not_found(root, missing, layout)
    return [read_vaihingen_tile(root, area, layout) for area in areas]


# ----------------------------------------------------------------------------- synthetic scenes
#
# Sizes are in pixels of the synthetic scene, which is drawn at about a third of Vaihingen's
# scale (a car is ~14 x 6 px instead of ~50 x 22 px at 9 cm) so that a 512 x 512 tile holds
# tens of objects of each class; heights are in metres, as in the real data. Counts and
# targets scale with the tile's area; the targets are Vaihingen's class frequencies.
_IMPERVIOUS, _BUILDING, _LOW_VEGETATION, _TREE, _CAR, _CLUTTER = range(6)
_REFERENCE_PIXELS = 512 * 512
_ROAD_SPACING = (110.0, 190.0)  # between the centre lines of parallel roads
_ROAD_WIDTH = (12.0, 22.0)
_ROAD_SEGMENT_KEPT = 0.75  # probability that a cross-road segment between two roads exists
_SQUARES_PER_TILE = 3
_SQUARE_HALF_SIDE = (10.0, 24.0)
_IMPERVIOUS_BEFORE_TREES = 0.33  # share painted before trees and cars cover part of it
_PATCH_HALF_SIDE = (4.0, 12.0)  # driveways, yards, terraces
_PATCH_ON_GRASS = 0.7  # least share of grass under a patch (painted over the grass only)
_BUILDING_TARGET = 0.26
_BUILDING_HALF_LENGTH = (9.0, 30.0)
_BUILDING_HALF_WIDTH = (7.0, 18.0)
_BUILDING_MARGIN = 3.0
_REFRESH_AFTER = 40  # failed placements before the map of free room is recomputed
_BUILDING_HEIGHT = (4.0, 12.0)
_TREE_TARGET = 0.23
_TREE_RADIUS = (5.0, 14.0)
_TREE_HEIGHT = (3.0, 15.0)
_STREET_TREE = 0.15  # probability that a crown may start on an impervious pixel
_CLUTTER_PER_TILE = 6
_CLUTTER_RADIUS = (10.0, 20.0)
_CAR_TARGET = 0.012
_CAR_HALF_LENGTH = (6.5, 8.0)
_CAR_HALF_WIDTH = (2.5, 3.5)
_CAR_HEIGHT = (1.3, 1.8)
_NDSM_PER_METRE = 10.0  # nDSM grey levels per metre of height (0.1 m steps, 25.5 m at 255)
_SCENE_ATTEMPTS = 20
_MIN_SIZE = 64
# texture amplitude of the IRRG colour per class (grey levels per unit of the fine field)
_TEXTURE = np.array([5.0, 6.0, 8.0, 22.0, 4.0, 14.0], dtype=np.float32)
# where the synthetic tiles lie: near Vaihingen an der Enz, in UTM 32N, side by side
_ORIGIN = (496000.0, 5420000.0)


def _smooth_field(rng, shape, cell):
    """A smooth random field of unit standard deviation, varying over about ``cell`` pixels.

    Gaussian bumps of width ``cell`` on a grid of knots ``cell`` apart, with standard normal
    weights: ``K_y @ weights @ K_x.T``, two small matrix products.
    """
    kernels = []
    for n in shape:
        knots = np.arange(-2, math.ceil(n / cell) + 3)
        kernels.append(np.exp(-0.5 * (np.arange(n)[:, None] / cell - knots[None, :]) ** 2))
    field = kernels[0] @ rng.standard_normal((kernels[0].shape[1], kernels[1].shape[1])) @ kernels[1].T
    return (field / field.std()).astype(np.float32)


class _Scene:
    """Label, IRRG colour and object height of a scene, painted object by object."""

    def __init__(self, rng, height, width):
        self.rng = rng
        self.shape = (height, width)
        self.size = height * width
        self.labels = np.full(self.shape, _LOW_VEGETATION, dtype=np.int64)
        self.height = np.zeros(self.shape, dtype=np.float32)
        self.counts = np.bincount(self.labels.ravel(), minlength=6)
        # grass: strong near infrared (red in IRRG), colour drifting over the scene
        drift = _smooth_field(rng, self.shape, 48)
        self.colour = np.stack(
            [170 + 18 * drift, 80 + 10 * drift, 90 + 8 * drift], axis=-1
        ).astype(np.float32)
        self.height[:] = 0.08 * np.abs(_smooth_field(rng, self.shape, 4))
        self.blob_field = _smooth_field(rng, self.shape, 6)

    def scaled(self, count):
        """``count`` objects per 512 x 512 pixels, for this scene's area (at least 1)."""
        return max(1, round(count * self.size / _REFERENCE_PIXELS))

    def points(self, label, share, attempts):
        """Uniform random points (y, x) until ``label`` covers ``share`` of the scene, at most
        ``attempts`` of them per 512 x 512 pixels."""
        target = share * self.size
        for _ in range(self.scaled(attempts)):
            if self.counts[label] >= target:
                return
            yield self.rng.uniform(0, self.shape[0]), self.rng.uniform(0, self.shape[1])

    def window(self, cy, cx, radius):
        """Slices of the box of half-side ``radius`` around (cy, cx), and the offsets in it."""
        H, W = self.shape
        y0 = min(H, max(0, math.floor(cy - radius)))
        x0 = min(W, max(0, math.floor(cx - radius)))
        y1 = max(y0, min(H, math.ceil(cy + radius) + 1))  # empty if the box lies outside
        x1 = max(x0, min(W, math.ceil(cx + radius) + 1))
        dy, dx = np.ogrid[y0:y1, x0:x1]  # (h, 1) and (1, w): they broadcast to the box
        return (slice(y0, y1), slice(x0, x1)), dy - cy, dx - cx

    def paint(self, box, mask, label, colour, height):
        """Set ``label`` where ``mask`` in ``box``; ``colour`` (3,) or (h, w, 3), ``height`` scalar or (h, w)."""
        old = self.labels[box][mask]
        self.counts -= np.bincount(old, minlength=6)
        self.counts[label] += old.size
        self.labels[box][mask] = label
        colour = np.asarray(colour, dtype=np.float32)
        self.colour[box][mask] = colour[mask] if colour.ndim == 3 else colour
        height = np.asarray(height, dtype=np.float32)
        self.height[box][mask] = height[mask] if height.ndim == 2 else height

    def among(self, box, labels):
        """Boolean mask of the pixels of ``box`` whose label is one of ``labels``."""
        allowed = np.zeros(6, dtype=bool)
        allowed[list(labels)] = True
        return allowed[self.labels[box]]

    def rectangle(self, y0, y1, x0, x1, label, colour, height, onto=None):
        """Paint the axis-aligned box [y0, y1) x [x0, x1), only over labels in ``onto`` if given."""
        box = (slice(max(0, round(y0)), max(0, round(y1))), slice(max(0, round(x0)), max(0, round(x1))))
        mask = self.among(box, range(6) if onto is None else onto)
        self.paint(box, mask, label, colour, height)

    def grey(self, low, high):
        level = self.rng.uniform(low, high)
        return level * self.rng.uniform(0.95, 1.05, 3)


def _draw_roads(scene):
    """A grid of roads: full-length ones along one axis, cut into kept segments along the other."""
    rng = scene.rng
    along_first = rng.random() < 0.5  # True: full-length roads run along x (rows of roads)
    n_full, n_cross = (scene.shape[0], scene.shape[1]) if along_first else (scene.shape[1], scene.shape[0])

    def centres(extent):
        n = max(1, round(extent / rng.uniform(*_ROAD_SPACING)))
        return (np.arange(n) + 0.5 + rng.uniform(-0.2, 0.2, n)) * extent / n

    roads = []  # (across0, across1, along0, along1) in the frame (full-road axis, cross axis)
    full = centres(n_full)
    for c in full:
        w = rng.uniform(*_ROAD_WIDTH) / 2
        roads.append((c - w, c + w, 0.0, float(n_cross)))
    bounds = np.concatenate([[0.0], full, [float(n_full)]])
    for c in centres(n_cross):
        w = rng.uniform(*_ROAD_WIDTH) / 2
        kept = rng.random(len(bounds) - 1) < _ROAD_SEGMENT_KEPT
        kept[rng.integers(len(kept))] = True
        roads += [(lo, hi, c - w, c + w) for lo, hi, keep in zip(bounds[:-1], bounds[1:], kept) if keep]
    painted = []
    for a0, a1, b0, b1 in roads:
        y0, y1, x0, x1 = (a0, a1, b0, b1) if along_first else (b0, b1, a0, a1)
        scene.rectangle(y0, y1, x0, x1, _IMPERVIOUS, scene.grey(105, 165), 0.0)
        painted.append((y0, y1, x0, x1))
    for _ in range(scene.scaled(_SQUARES_PER_TILE)):  # squares and car parks beside a road
        y0, y1, x0, x1 = painted[rng.integers(len(painted))]
        cy, cx = rng.uniform(y0, y1), rng.uniform(x0, x1)
        hy, hx = rng.uniform(*_SQUARE_HALF_SIDE, 2)
        scene.rectangle(cy - hy, cy + hy, cx - hx, cx + hx, _IMPERVIOUS, scene.grey(130, 200), 0.0)


def _draw_buildings(scene):
    """Rectangular buildings (some rotated) on free grass, flat or gabled, grey or reddish roofs."""
    rng = scene.rng
    target = _BUILDING_TARGET * scene.size
    m = _BUILDING_MARGIN
    failures = _REFRESH_AFTER
    for _ in range(scene.scaled(1500)):
        if scene.counts[_BUILDING] >= target:
            break
        if failures >= _REFRESH_AFTER:
            # room[p]: chessboard distance from pixel p to the nearest non-grass pixel, so a
            # square of half-side room[p] - 1 around p is grass; refreshed after failures
            room = ndimage.distance_transform_cdt(scene.labels == _LOW_VEGETATION, metric="chessboard")
            candidates = np.flatnonzero(room > _BUILDING_HALF_WIDTH[0] + m)
            failures = 0
            if not candidates.size:
                break
        cy, cx = divmod(int(candidates[rng.integers(candidates.size)]), scene.shape[1])
        widest = min(float(room[cy, cx]) - 1 - m, _BUILDING_HALF_WIDTH[1])
        b = rng.uniform(_BUILDING_HALF_WIDTH[0], widest) if widest > _BUILDING_HALF_WIDTH[0] else widest
        a = rng.uniform(max(b, _BUILDING_HALF_LENGTH[0]), _BUILDING_HALF_LENGTH[1])
        angle = rng.choice([0.0, math.pi / 2]) if rng.random() < 0.5 else rng.uniform(0, math.pi)
        box, dy, dx = scene.window(cy, cx, math.hypot(a + m, b + m))
        u = dx * math.cos(angle) + dy * math.sin(angle)
        v = -dx * math.sin(angle) + dy * math.cos(angle)
        if not (scene.labels[box][(np.abs(u) <= a + m) & (np.abs(v) <= b + m)] == _LOW_VEGETATION).all():
            failures += 1
            continue
        mask = (np.abs(u) <= a) & (np.abs(v) <= b)
        if rng.random() < 0.5:
            roof = scene.grey(95, 185)  # grey like the roads
        else:
            roof = np.array([rng.uniform(150, 200), rng.uniform(110, 150), rng.uniform(80, 115)])
        if rng.random() < 0.6:  # gable: ridge along the long axis, the two sides lit differently
            eave = rng.uniform(_BUILDING_HEIGHT[0], _BUILDING_HEIGHT[1] - 3)
            height = eave + rng.uniform(1.5, 3.0) * (1 - np.abs(v) / b)
            colour = roof * np.where(v >= 0, 1.08, 0.92)[..., None]
        else:
            height = rng.uniform(*_BUILDING_HEIGHT)
            colour = roof
        scene.paint(box, mask, _BUILDING, colour, height)


def _draw_patches(scene):
    """Small paved rectangles (driveways, yards, terraces) on grass, up to the impervious target."""
    rng = scene.rng
    for cy, cx in scene.points(_IMPERVIOUS, _IMPERVIOUS_BEFORE_TREES, 1500):
        hy, hx = rng.uniform(*_PATCH_HALF_SIDE, 2)
        box = (
            slice(max(0, round(cy - hy)), max(0, round(cy + hy))),
            slice(max(0, round(cx - hx)), max(0, round(cx + hx))),
        )
        grass = scene.among(box, (_LOW_VEGETATION,))
        if grass.size and grass.mean() >= _PATCH_ON_GRASS:  # may abut a building or a road
            scene.paint(box, grass, _IMPERVIOUS, scene.grey(120, 200), 0.0)


def _draw_trees(scene):
    """Round crowns, alone or in clumps, over grass (street trees also over pavement), never on roofs."""
    rng = scene.rng
    for cy, cx in scene.points(_TREE, _TREE_TARGET, 1500):
        under = scene.labels[int(cy), int(cx)]
        street = under == _IMPERVIOUS and rng.random() < _STREET_TREE
        if not (under == _LOW_VEGETATION or street):
            continue
        # a crown grows over grass and other crowns; a street tree's also over pavement
        onto = (_LOW_VEGETATION, _IMPERVIOUS, _TREE) if street else (_LOW_VEGETATION, _TREE)
        for k in range(1 + rng.integers(3)):
            radius = rng.uniform(*_TREE_RADIUS)
            if k:  # the next crown of a clump, beside the first
                turn = rng.uniform(0, 2 * math.pi)
                cy, cx = cy + radius * math.sin(turn), cx + radius * math.cos(turn)
            box, dy, dx = scene.window(cy, cx, radius)
            r = np.hypot(dy, dx) / radius
            mask = (r <= 1) & scene.among(box, onto)
            if not mask.any():
                continue
            colour = np.array([rng.uniform(150, 215), rng.uniform(40, 80), rng.uniform(55, 95)])
            colour = colour * (0.8 + 0.3 * (1 - r))[..., None]  # lit crown top
            crown = rng.uniform(*_TREE_HEIGHT) * (0.55 + 0.45 * np.sqrt(np.clip(1 - r * r, 0, None)))
            below = np.where(scene.labels[box] == _TREE, scene.height[box], 0)
            scene.paint(box, mask, _TREE, colour, np.maximum(crown, below))


def _draw_clutter(scene):
    """A few irregular low patches of any colour on grass or pavement."""
    rng = scene.rng
    for _ in range(scene.scaled(_CLUTTER_PER_TILE)):
        radius = rng.uniform(*_CLUTTER_RADIUS)
        cy, cx = rng.uniform(0, scene.shape[0]), rng.uniform(0, scene.shape[1])
        box, dy, dx = scene.window(cy, cx, 1.6 * radius)
        blob = np.hypot(dy, dx) / radius + 0.45 * scene.blob_field[box] < 1
        mask = blob & scene.among(box, (_LOW_VEGETATION, _IMPERVIOUS))
        height = rng.uniform(0.1, 1.5) * rng.uniform(0.7, 1.3, mask.shape)
        scene.paint(box, mask, _CLUTTER, rng.uniform(30, 230, 3), height)


def _draw_cars(scene):
    """Cars on pavement, along the road they stand on, none touching another."""
    rng = scene.rng
    H, W = scene.shape
    for y, x in scene.points(_CAR, _CAR_TARGET, 1500):
        cy, cx = int(y), int(x)
        if scene.labels[cy, cx] != _IMPERVIOUS:
            continue
        half_length, half_width = rng.uniform(*_CAR_HALF_LENGTH), rng.uniform(*_CAR_HALF_WIDTH)
        reach = int(2 * half_length)
        along_x = np.count_nonzero(scene.labels[cy, max(0, cx - reach) : cx + reach] == _IMPERVIOUS)
        along_y = np.count_nonzero(scene.labels[max(0, cy - reach) : cy + reach, cx] == _IMPERVIOUS)
        horizontal = along_x > along_y or (along_x == along_y and rng.random() < 0.5)
        hy, hx = (half_width, half_length) if horizontal else (half_length, half_width)
        y0, y1, x0, x1 = round(cy - hy), round(cy + hy), round(cx - hx), round(cx + hx)
        if y0 < 1 or x0 < 1 or y1 > H - 1 or x1 > W - 1:
            continue
        if not (scene.labels[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1] == _IMPERVIOUS).all():
            continue  # the car and a one-pixel ring around it must be pavement
        box = (slice(y0, y1), slice(x0, x1))
        body = rng.uniform(20, 240, 3)
        along = np.mgrid[y0:y1, x0:x1][1 if horizontal else 0] - (x0 if horizontal else y0)
        length = (x1 - x0) if horizontal else (y1 - y0)
        windscreen = np.abs(along - 0.3 * length) < 0.12 * length
        colour = body * np.where(windscreen, 0.45, 1.0)[..., None]
        scene.paint(box, np.ones(colour.shape[:2], bool), _CAR, colour, rng.uniform(*_CAR_HEIGHT))


def _synthetic_scene(rng, height, width):
    """labels (H, W) int64, IRRG (3, H, W) uint8, DSM (H, W) float32 metres, nDSM (H, W) uint8."""
    for _ in range(_SCENE_ATTEMPTS):
        scene = _Scene(rng, height, width)
        for draw in (_draw_roads, _draw_buildings, _draw_patches, _draw_trees, _draw_clutter, _draw_cars):
            draw(scene)
        if (scene.counts > 0).all():
            break
    else:  # pragma: no cover - never met at the sizes allowed
        raise RuntimeError(f"no scene of {height} x {width} pixels held all six classes in {_SCENE_ATTEMPTS} tries")
    fine = ndimage.gaussian_filter(rng.standard_normal(scene.shape).astype(np.float32), 1.0) * 2.5
    colour = scene.colour + (_TEXTURE[scene.labels] * fine)[..., None] + rng.normal(0, 3, scene.colour.shape)
    colour = ndimage.gaussian_filter(colour, sigma=(0.6, 0.6, 0))
    # a sensor saturates: the rare noisy values outside [0, 255] are recorded at the bounds
    irrg = np.clip(np.rint(colour), 0, 255).astype(np.uint8).transpose(2, 0, 1)
    # object height, with rough crowns and a few centimetres of noise, never below ground
    roughness = np.where(scene.labels == _TREE, 0.6, 0.03).astype(np.float32)
    objects = scene.height + roughness * np.abs(fine)
    ndsm_levels = np.rint(objects * _NDSM_PER_METRE)
    assert ndsm_levels.max() <= 255, "object heights exceed the nDSM's 8-bit range"
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) * VAIHINGEN_PIXEL_SIZE
    slope_y, slope_x = rng.uniform(-0.04, 0.04, 2)
    terrain = rng.uniform(250, 280) + slope_y * yy + slope_x * xx + 0.4 * _smooth_field(rng, scene.shape, 64)
    dsm = (terrain + objects + rng.normal(0, 0.02, scene.shape)).astype(np.float32)
    return scene.labels, irrg, dsm, ndsm_levels.astype(np.uint8)


def _check_size(size):
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"size must be a (height, width) pair of ints, got {size!r}")
    height, width = (_check_int(s, name, _MIN_SIZE) for s, name in zip(size, ("size[0]", "size[1]")))
    return height, width


def write_synthetic_vaihingen(root, areas=None, size=(512, 512), seed=0, layout=None):
    r"""Write synthetic Vaihingen tiles in the ISPRS layout and formats, for tests and smoke runs.

    Each tile is a scene drawn with numpy and scipy, then written with rasterio exactly as
    the real files are laid out (:class:`VaihingenLayout`): IRRG and ground truth as 3-band
    uint8 GeoTIFFs, the DSM as a 1-band float32 GeoTIFF (metres), the nDSM as a 1-band
    uint8 JPEG (quality 95, not georeferenced), whatever the patterns' extensions. The
    GeoTIFFs carry 9 cm pixels in :data:`VAIHINGEN_CRS`, the tiles side by side near
    Vaihingen (synthetic positions). The scene of area :math:`N` depends only on
    ``(seed, N)`` and ``size``: same arguments, same files.

    The scene, drawn at about a third of Vaihingen's scale (a car is ~14 x 6 pixels), holds
    a road grid with squares, small paved patches (impervious surfaces, grey, height 0),
    rectangular buildings, some rotated, flat or gabled (4-12 m; grey roofs like the roads
    or reddish ones), round tree crowns alone or in clumps, also over roads (3-15 m, strong
    near infrared), grass (the same colour family as trees, height ~0), cars on the
    pavement along the roads (1.3-1.8 m, any colour) and a few irregular clutter patches
    (any colour, below 2 m), with colour texture and noise. Colour alone confuses roads with
    grey roofs and grass with trees, height alone trees with buildings. With :math:`h` the
    object height in metres and :math:`t` a smooth terrain (a slope and bumps, 250-290 m),

    .. math::
        \mathrm{DSM} = t + h + \varepsilon, \qquad \mathrm{nDSM} = \mathrm{round}(10\,h),

    the nDSM in steps of 0.1 m. At 512 x 512 the class shares come near Vaihingen's
    (impervious ~27 %, building ~26 %, low vegetation ~21 %, tree ~23 %, car ~1.2 %,
    clutter ~1 %), with tens of objects per class but clutter; every scene holds all six
    classes.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to write into (created; existing files are replaced).
    areas : sequence of int, optional
        Area numbers (:data:`VAIHINGEN_AREAS`); all 33 when None.
    size : tuple of int
        (height, width) of every tile, each >= 64.
    seed : int
        Seed, >= 0.
    layout : VaihingenLayout, optional
        File patterns; the default layout when None.

    Returns
    -------
    paths : list of pathlib.Path
        The files written: for each area in order, its IRRG, DSM, nDSM and ground truth.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2).
    .. [2] ISPRS 2-D Semantic Labeling Contest, Vaihingen. :data:`ISPRS_VAIHINGEN_URL`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     paths = write_synthetic_vaihingen(root, areas=[2], size=(64, 96), seed=1)
    ...     names = [p.relative_to(root).as_posix() for p in paths]
    >>> names  # doctest: +NORMALIZE_WHITESPACE
    ['top/top_mosaic_09cm_area2.tif', 'dsm/dsm_09cm_matching_area2.tif',
     'ndsm/dsm_09cm_matching_area2_normalized.jpg', 'gts/top_mosaic_09cm_area2.tif']
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.transform import Affine

    root = _check_path(root, "root")
    areas = VAIHINGEN_AREAS if areas is None else _check_areas(areas, VAIHINGEN_AREAS, "Vaihingen")
    height, width = _check_size(size)
    seed = _check_int(seed, "seed", 0)
    layout = _check_layout(layout)
    written = []
    # GDAL_PAM_ENABLED=NO: no .aux.xml side files next to the written files
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # the nDSM JPEG
        for area in areas:
            labels, irrg, dsm, ndsm = _synthetic_scene(np.random.default_rng([seed, area]), height, width)
            column, row = (area - 1) % 6, (area - 1) // 6
            step_x, step_y = (width + 100) * VAIHINGEN_PIXEL_SIZE, (height + 100) * VAIHINGEN_PIXEL_SIZE
            geo = {
                "driver": "GTiff",
                "crs": VAIHINGEN_CRS,
                # north-up, 9 cm pixels: x = x0 + 0.09 col, y = y0 - 0.09 row
                "transform": Affine(
                    VAIHINGEN_PIXEL_SIZE, 0.0, _ORIGIN[0] + column * step_x,
                    0.0, -VAIHINGEN_PIXEL_SIZE, _ORIGIN[1] - row * step_y,
                ),
            }
            paths = layout.paths(root, area)
            bands = {
                "irrg": (irrg, geo),
                "dsm": (dsm[None], geo),
                "ndsm": (ndsm[None], {"driver": "JPEG", "QUALITY": 95}),
                "labels": (labels_to_colors(labels).transpose(2, 0, 1), geo),
            }
            for name in _FILES:
                data, options = bands[name]
                paths[name].parent.mkdir(parents=True, exist_ok=True)
                with rasterio.open(
                    paths[name], "w", height=height, width=width, count=data.shape[0], dtype=data.dtype, **options
                ) as dataset:
                    dataset.write(data)
                written.append(paths[name])
    return written
