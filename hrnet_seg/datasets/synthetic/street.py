"""The Cityscapes street scene, as labelled polygons drawn back to front (later ones
overwrite).

Depth rows keep the 19 classes apart, so none is hidden: the skyline and the wall /
fence in front of it; poles with lights and signs on the far sidewalk, whose tops stand
above everything on the road; big vehicles (train, bus, truck) on the far lane, packed
into the x-gaps left by wall and fence; cars, two-wheelers with riders and pedestrians
on the near lane, below the far lane's wheels; the ego vehicle's hood last, with
unlabeled corners beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .drawing import Point, Polygon, mirror, pack, partition, rect

LabeledPolygon = tuple[str, Polygon]


@dataclass(frozen=True)
class _Street:
    """The image size and the scene's depth rows (pixel rows from the top)."""

    height: int
    width: int
    horizon: int  # foot of the skyline
    curb: int  # far sidewalk ends, road begins
    far_lane: int  # wheels of the big vehicles
    hood: int  # top of the ego vehicle's hood

    @classmethod
    def draw(cls, rng: np.random.Generator, *, height: int, width: int) -> _Street:
        """The depth rows, drawn top to bottom."""

        def y(fraction: float) -> int:
            return round(fraction * height)

        horizon = y(rng.uniform(0.46, 0.52))
        curb = horizon + y(rng.uniform(0.07, 0.09))
        far_lane = curb + y(rng.uniform(0.07, 0.09))
        hood = height - 1 - y(rng.uniform(0.08, 0.10))
        return cls(height, width, horizon, curb, far_lane, hood)

    @property
    def near_lane(self) -> int:
        """Wheels and feet on the near lane, just above the hood."""
        return self.hood - self.y(0.03)

    def y(self, fraction: float) -> int:
        """A height given as a fraction of the image's, in px."""
        return round(fraction * self.height)

    def random_width(self, rng: np.random.Generator, low: float, high: float) -> int:
        """A width drawn between two fractions of the image's, at least 3 px."""
        return max(3, round(rng.uniform(low, high) * self.width))


def street_scene(rng: np.random.Generator, *, height: int, width: int) -> list[LabeledPolygon]:
    """A street scene as Cityscapes polygons, back to front (see the module's docstring)."""
    # The steps run in painting order and draw from ``rng`` in turn: reordering them, or
    # the draws inside one, changes the images (tests/datasets/synthetic_digests.json pins
    # them). The far row is placed once, for the wall and fence and the far vehicles.
    street = _Street.draw(rng, height=height, width=width)
    objects = _sky(street)
    objects += _skyline(rng, street)
    objects += _far_sidewalk(rng, street)
    objects += _road(street)
    objects += _near_roadsides(rng, street)
    far_row = _far_row(rng, street)
    objects += _wall_and_fence(rng, street, far_row)
    objects += _street_furniture(rng, street)
    objects += _far_vehicles(rng, street, far_row)
    objects += _near_lane(rng, street)
    objects += _ego_vehicle(street)
    return objects


# ---------------------------------------------------------------- the steps, back to front


def _sky(street: _Street) -> list[LabeledPolygon]:
    return [("sky", rect(0, 0, street.width - 1, street.horizon))]


def _skyline(rng: np.random.Generator, street: _Street) -> list[LabeledPolygon]:
    """Buildings and tree lines taking turns along the horizon."""
    segments = int(rng.integers(4, 7))
    edges = partition(rng, street.width, segments, minimum=0.08)
    first = int(rng.integers(2))
    objects = []
    for k in range(segments):
        x0, x1 = edges[k], edges[k + 1] - 1
        if (k + first) % 2 == 0:
            objects.append(_building(rng, street, x0, x1))
        else:
            objects.append(_tree_line(rng, street, x0, x1))
    return objects


def _building(rng: np.random.Generator, street: _Street, x0: int, x1: int) -> LabeledPolygon:
    top = street.y(rng.uniform(0.08, 0.28))
    return "building", rect(x0, top, x1, street.horizon)


def _tree_line(rng: np.random.Generator, street: _Street, x0: int, x1: int) -> LabeledPolygon:
    y, horizon = street.y, street.horizon
    bumps = np.linspace(x0, x1, int(rng.integers(3, 6)))
    tops = np.clip(
        y(rng.uniform(0.14, 0.26)) + rng.integers(-y(0.05), y(0.05) + 1, len(bumps)),
        y(0.06),
        horizon,
    )
    return "vegetation", [(x0, horizon), *zip(map(round, bumps), tops.tolist()), (x1, horizon)]


def _far_sidewalk(rng: np.random.Generator, street: _Street) -> list[LabeledPolygon]:
    """The far sidewalk with a grass verge on part of it (the verge may end up behind a
    vehicle)."""
    horizon, curb = street.horizon, street.curb
    verge_w = street.random_width(rng, 0.2, 0.35)
    verge_x = int(rng.integers(0, street.width - verge_w))
    slant = street.y(0.03)
    verge = [
        (verge_x, horizon),
        (verge_x + verge_w, horizon),
        (verge_x + verge_w - slant, curb - 2),
        (verge_x + slant, curb - 2),
    ]
    return [("sidewalk", rect(0, horizon, street.width - 1, curb)), ("terrain", verge)]


def _road(street: _Street) -> list[LabeledPolygon]:
    return [("road", rect(0, street.curb, street.width - 1, street.hood + 1))]


def _near_roadsides(rng: np.random.Generator, street: _Street) -> list[LabeledPolygon]:
    """Near the camera, a sidewalk on one side of the road and a verge on the other."""
    near_sides = ["sidewalk", "terrain"]
    if rng.random() < 0.5:
        near_sides.reverse()
    objects = []
    for side, label in enumerate(near_sides):
        top = street.curb + street.y(rng.uniform(0.06, 0.1))
        bottom = street.hood + 1
        wedge = [(0, top), (street.random_width(rng, 0.2, 0.3), bottom), (0, bottom)]
        objects.append((label, mirror(wedge, street.width) if side else wedge))
    return objects


def _far_row(rng: np.random.Generator, street: _Street) -> dict[str, tuple[int, int]]:
    """Left edge and width of the wall, the fence and the big vehicles. Wall and fence
    stand at the horizon, big vehicles on the far lane: one x-packing so that no vehicle
    covers them."""
    widths = {
        "wall": street.random_width(rng, 0.12, 0.16),
        "fence": street.random_width(rng, 0.12, 0.16),
        "train": street.random_width(rng, 0.2, 0.24),
        "bus": street.random_width(rng, 0.16, 0.19),
        "truck": street.random_width(rng, 0.13, 0.16),
    }
    lefts = pack(rng, list(widths.values()), street.width)
    return {label: (x0, widths[label]) for label, x0 in zip(widths, lefts)}


def _wall_and_fence(
    rng: np.random.Generator, street: _Street, far_row: dict[str, tuple[int, int]]
) -> list[LabeledPolygon]:
    objects = []
    for label in ("wall", "fence"):
        top = street.horizon - street.y(rng.uniform(0.1, 0.14))
        x0, width = far_row[label]
        objects.append((label, rect(x0, top, x0 + width - 1, street.horizon)))
    return objects


def _street_furniture(rng: np.random.Generator, street: _Street) -> list[LabeledPolygon]:
    """On the far sidewalk: a traffic light and a traffic sign, each on its pole, and a
    small 'dynamic' object (not evaluated) at the curb."""
    W, y, curb = street.width, street.y, street.curb
    pole_w = max(2, round(0.028 * W))
    furniture = {
        "traffic light": max(pole_w + 2, round(0.045 * W)),
        "traffic sign": max(pole_w + 2, round(0.065 * W)),
        "dynamic": street.random_width(rng, 0.035, 0.05),
    }
    furniture_x = dict(zip(furniture, pack(rng, list(furniture.values()), W)))
    objects = []
    for label in ("traffic light", "traffic sign"):
        x0, box_w = furniture_x[label], furniture[label]
        top = y(rng.uniform(0.14, 0.22))
        pole_x = x0 + (box_w - pole_w) // 2
        objects.append(("pole", rect(pole_x, top, pole_x + pole_w - 1, curb - 1)))
        box_h = (
            y(rng.uniform(0.11, 0.14)) if label == "traffic light" else y(rng.uniform(0.09, 0.12))
        )
        box = _sign_shape(rng, x0, top, box_w, box_h) if label == "traffic sign" else None
        objects.append((label, box or rect(x0, top, x0 + box_w - 1, top + box_h)))
    x0 = furniture_x["dynamic"]
    objects.append(("dynamic", rect(x0, curb - y(0.07), x0 + furniture["dynamic"] - 1, curb - 1)))
    return objects


def _far_vehicles(
    rng: np.random.Generator, street: _Street, far_row: dict[str, tuple[int, int]]
) -> list[LabeledPolygon]:
    """A train, a bus and a truck on the far lane, in the places the far row left them."""
    heights = {"train": (0.22, 0.26), "bus": (0.2, 0.24), "truck": (0.17, 0.21)}
    objects = []
    for label, (low, high) in heights.items():
        obj_h = street.y(rng.uniform(low, high))
        x0, width = far_row[label]
        objects.append((label, _vehicle(rng, label, x0, width, street.far_lane, obj_h)))
    return objects


def _near_lane(rng: np.random.Generator, street: _Street) -> list[LabeledPolygon]:
    """One or two cars, a motorcycle, a bicycle and one or two pedestrians side by side
    on the near lane."""
    y = street.y
    near_row: list[tuple[str, int]] = [
        ("car", street.random_width(rng, 0.13, 0.17)) for _ in range(int(rng.integers(1, 3)))
    ]
    near_row += [
        ("motorcycle", street.random_width(rng, 0.07, 0.09)),
        ("bicycle", street.random_width(rng, 0.07, 0.09)),
    ]
    near_row += [
        ("person", street.random_width(rng, 0.035, 0.045)) for _ in range(int(rng.integers(1, 3)))
    ]
    objects = []
    lefts = pack(rng, [obj_w for _, obj_w in near_row], street.width)
    for (label, obj_w), x0 in zip(near_row, lefts):
        bottom = street.near_lane - int(rng.integers(0, y(0.02) + 1))
        if label == "person":
            objects.append((label, _figure(x0, obj_w, bottom, y(rng.uniform(0.18, 0.22)))))
        elif label == "car":
            obj_h = y(rng.uniform(0.15, 0.19))
            objects.append((label, _vehicle(rng, label, x0, obj_w, bottom, obj_h)))
        else:
            objects += _two_wheeler(rng, street, label, x0, obj_w, bottom)
    return objects


def _two_wheeler(
    rng: np.random.Generator, street: _Street, label: str, x0: int, width: int, bottom: int
) -> list[LabeledPolygon]:
    """A motorcycle or a bicycle, with or without its rider."""
    wheels_h = street.y(rng.uniform(0.1, 0.12))
    objects = [(label, _vehicle(rng, label, x0, width, bottom, wheels_h))]
    # Every motorcycle carries a rider (the one rider every image needs); bicycles
    # sometimes.
    if label == "motorcycle" or rng.random() < 0.5:
        rider_w = max(3, round(0.035 * street.width))
        rider_x = x0 + (width - rider_w) // 2
        seat = bottom - wheels_h // 2
        rider_h = street.y(rng.uniform(0.12, 0.15))
        objects.append(("rider", _figure(rider_x, rider_w, seat, rider_h)))
    return objects


def _ego_vehicle(street: _Street) -> list[LabeledPolygon]:
    """The hood of the car the camera sits in, with unlabeled corners beside it."""
    H, W, hood = street.height, street.width, street.hood
    side = street.y(0.04)
    hood_outline = [
        (0, H - 1),
        (0, H - 1 - side),
        (round(0.22 * W), hood),
        (round(0.78 * W), hood),
        (W - 1, H - 1 - side),
        (W - 1, H - 1),
    ]
    return [("ego vehicle", hood_outline)]


# ---------------------------------------------------------------- object shapes


def _vehicle(
    rng: np.random.Generator, label: str, x0: int, width: int, bottom: int, height: int
) -> Polygon:
    """A side view: car with a cabin, truck with box and cab, bus with chamfered
    corners, train with a sloped front, two-wheelers as low wedges."""
    x1 = x0 + width - 1

    def at(fx: float, fy: float) -> Point:
        return round(x0 + fx * (width - 1)), round(bottom - fy * height)

    shapes: dict[str, list[tuple[float, float]]] = {
        "car": [(0, 0), (0, 0.55), (0.2, 1), (0.75, 1), (1, 0.55), (1, 0)],
        "truck": [(0, 0), (0, 1), (0.7, 1), (0.72, 0.65), (1, 0.55), (1, 0)],
        "bus": [(0, 0), (0, 0.9), (0.04, 1), (0.96, 1), (1, 0.9), (1, 0)],
        "train": [(0, 0), (0, 1), (0.85, 1), (1, 0.6), (1, 0)],
        "motorcycle": [(0, 0), (0.1, 0.6), (0.35, 1), (0.8, 0.8), (1, 0.4), (1, 0)],
        "bicycle": [(0, 0.3), (0.3, 1), (0.7, 1), (1, 0.3), (0.8, 0), (0.2, 0)],
    }
    polygon = [at(fx, fy) for fx, fy in shapes[label]]
    if rng.random() < 0.5:  # facing left or right
        polygon = [(x0 + x1 - px, py) for px, py in polygon]
    return polygon


def _figure(x0: int, width: int, bottom: int, height: int) -> Polygon:
    """A standing person or a rider: body and a narrower head."""
    x1 = x0 + width - 1
    head_x0, head_x1 = x0 + width // 4, x1 - width // 4
    neck = bottom - round(0.82 * height)
    return [
        (x0, bottom),
        (x0, neck),
        (head_x0, neck),
        (head_x0, bottom - height),
        (head_x1, bottom - height),
        (head_x1, neck),
        (x1, neck),
        (x1, bottom),
    ]


def _sign_shape(
    rng: np.random.Generator, x0: int, top: int, width: int, height: int
) -> Polygon | None:
    """A traffic sign's face: triangle, diamond, octagon, or None for a rectangle."""
    kind = int(rng.integers(4))
    x1, bottom = x0 + width - 1, top + height
    cx, cy = (x0 + x1) // 2, (top + bottom) // 2
    if kind == 0:
        return [(x0, top), (x1, top), (cx, bottom)]
    if kind == 1:
        return [(cx, top), (x1, cy), (cx, bottom), (x0, cy)]
    if kind == 2:
        dx, dy = width // 3, height // 3
        return [
            (x0 + dx, top),
            (x1 - dx, top),
            (x1, top + dy),
            (x1, bottom - dy),
            (x1 - dx, bottom),
            (x0 + dx, bottom),
            (x0, bottom - dy),
            (x0, top + dy),
        ]
    return None
