r"""Synthetic Vaihingen scenes in the ISPRS layout: the book's stand-in for the real tiles.

The ISPRS Vaihingen archives need a registration
(:data:`~watlib.data.vaihingen.ISPRS_VAIHINGEN_URL`), so the segmentation chapter and the tests run
on scenes drawn here: roads, buildings, paved patches, trees, cars and clutter, with IRRG colours, a
DSM and an nDSM whose cues confuse the classes the way the real data does (colour alone mixes roads
with grey roofs and grass with trees, height alone trees with buildings). They are written with
rasterio in exactly the layout and formats of the real files
(:class:`~watlib.data.vaihingen.VaihingenLayout`), so the reader of :mod:`watlib.data.vaihingen`
reads them like real tiles.

- :func:`write_synthetic_vaihingen`: the scenes of some areas, written under a folder.
- :func:`synthetic_vaihingen_root`: the folder of all 33 areas for a size and a seed, in the
  user cache (:func:`~watlib.data.classification.cache_dir`), written on first use.

References
----------
.. [1] ISPRS 2-D Semantic Labeling Contest, Vaihingen.
   https://www.isprs.org/education/benchmarks/UrbanSemLab/2d-sem-label-vaihingen.aspx
.. [2] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N. (2019).
   Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936 (Section 5.2).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

from .._checks import check_int, check_path
from .._extras import needs_extra
from .classification import cache_dir
from .vaihingen import (
    VAIHINGEN_AREAS,
    VAIHINGEN_CLASSES,
    VAIHINGEN_CRS,
    VAIHINGEN_PIXEL_SIZE,
    check_areas,
    check_layout,
    labels_to_colors,
)

__all__ = ["write_synthetic_vaihingen", "synthetic_vaihingen_root"]

# Sizes are in pixels of the synthetic scene, which is drawn at about a third of Vaihingen's
# scale (a car is ~14 x 6 px instead of ~50 x 22 px at 9 cm) so that a 512 x 512 tile holds
# tens of objects of each class; heights are in metres, as in the real data. Counts and
# targets scale with the tile's area; the targets are Vaihingen's class frequencies.
_IMPERVIOUS, _BUILDING, _LOW_VEGETATION, _TREE, _CAR, _CLUTTER = (
    VAIHINGEN_CLASSES.index(name)
    for name in ("impervious surfaces", "building", "low vegetation", "tree", "car", "clutter")
)
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


def _check_size(size, argname="size"):
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"{argname} must be a (height, width) pair of ints, got {size!r}")
    height, width = (check_int(f"{argname}[{i}]", s, ge=_MIN_SIZE) for i, s in enumerate(size))
    return height, width


def write_synthetic_vaihingen(root, areas=None, size=(512, 512), seed=0, layout=None):
    r"""Write synthetic Vaihingen tiles in the ISPRS layout and formats, for tests and smoke runs.

    Each tile is a scene drawn with numpy and scipy, then written with rasterio exactly as the real
    files are laid out (:class:`~watlib.data.vaihingen.VaihingenLayout`): IRRG and ground truth as
    3-band uint8 GeoTIFFs, the DSM as a 1-band float32 GeoTIFF (metres), the nDSM as a 1-band uint8
    JPEG (quality 95, not georeferenced), whatever the patterns' extensions. The GeoTIFFs carry 9 cm
    pixels in :data:`~watlib.data.vaihingen.VAIHINGEN_CRS`, the tiles side by side near Vaihingen
    (synthetic positions). The scene of area :math:`N` depends only on ``(seed, N)`` and ``size``:
    same arguments, same files.

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
        Area numbers (:data:`~watlib.data.vaihingen.VAIHINGEN_AREAS`); all 33 when None.
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
    .. [2] ISPRS 2-D Semantic Labeling Contest, Vaihingen.
       :data:`~watlib.data.vaihingen.ISPRS_VAIHINGEN_URL`.

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
    with needs_extra("vaihingen", "writing synthetic Vaihingen scenes"):
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning
        from rasterio.transform import Affine

    root = check_path("root", root)
    areas = VAIHINGEN_AREAS if areas is None else check_areas(areas)
    height, width = _check_size(size)
    seed = check_int("seed", seed, ge=0)
    layout = check_layout(layout)
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
            for name, path in paths.items():  # irrg, dsm, ndsm, labels
                data, options = bands[name]
                path.parent.mkdir(parents=True, exist_ok=True)
                with rasterio.open(
                    path, "w", height=height, width=width, count=data.shape[0], dtype=data.dtype, **options
                ) as dataset:
                    dataset.write(data)
                written.append(path)
    return written


def synthetic_vaihingen_root(scene_size=(512, 512), scene_seed=0, cache=None):
    r"""The folder of the synthetic scenes of all 33 areas for a size and a seed, written on first use.

    The folder is ``cache / f"seed{scene_seed}_{H}x{W}"``, with ``cache`` defaulting to
    ``cache_dir() / "vaihingen_synthetic"``. The first call
    writes every area with :func:`write_synthetic_vaihingen` (``size=scene_size``,
    ``seed=scene_seed``) and then a marker ``.complete``; later calls find the marker and
    write nothing, so an interrupted first call is completed by the next.

    Parameters
    ----------
    scene_size : (int, int)
        Height and width of every scene, each >= 64.
    scene_seed : int
        Fixes the scenes, >= 0.
    cache : str or os.PathLike, optional
        Parent folder (created if needed); by default ``vaihingen_synthetic`` in the watlib
        cache, ``~/.cache/watlib`` (:func:`~watlib.data.classification.cache_dir`).

    Returns
    -------
    pathlib.Path
        A folder in the ISPRS layout (:class:`~watlib.data.vaihingen.VaihingenLayout`) holding all
        33 areas.

    References
    ----------
    .. [1] Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N.
       (2019). Wasserstein Adversarial Training for Label Noise. arXiv:1904.03936
       (Section 5.2: the 33 tiles of Vaihingen).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = synthetic_vaihingen_root((64, 64), scene_seed=1, cache=tmp)
    ...     root.name, len(list((root / "top").glob("*.tif")))
    ('seed1_64x64', 33)
    """
    h, w = _check_size(scene_size, "scene_size")
    scene_seed = check_int("scene_seed", scene_seed, ge=0)
    root = check_path("cache", cache) if cache is not None else cache_dir() / "vaihingen_synthetic"
    root = root / f"seed{scene_seed}_{h}x{w}"
    done = root / ".complete"
    if not done.exists():
        write_synthetic_vaihingen(root, size=(h, w), seed=scene_seed)
        done.write_text("written by watlib.data.write_synthetic_vaihingen\n")
    return Path(root)
