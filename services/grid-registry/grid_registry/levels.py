"""The five levels of the grid, what kinds of unit each holds, and the roles of its people.

Plain data from the district's plan (BRIEF.md, "The grid"). Codes are
hierarchical: a child's code is its parent's code plus a fixed number of digits,
so a code alone tells its level and its ancestors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Level 1 is the district's administrative division code (晋城市城区: 140502).
DISTRICT_CODE = "140502"

# Digits each level adds to its parent's code.
CODE_DIGITS = {1: 6, 2: 3, 3: 3, 4: 3, 5: 4}
CODE_LENGTH = {1: 6, 2: 9, 3: 12, 4: 15, 5: 19}

LEVEL_NAMES = {1: "区", 2: "镇/街道", 3: "村/社区", 4: "网格", 5: "网格点"}

# kind -> Chinese name, per level.
KINDS: dict[int, dict[str, str]] = {
    1: {"district": "区"},
    2: {"subdistrict": "街道", "town": "镇"},
    3: {"community": "社区", "village": "村"},
    4: {"area": "网格"},
    5: {
        "agency": "机关单位",
        "enterprise": "企业",
        "social_organisation": "社会组织",
        "residential_compound": "封闭式小区",
        "market": "市场",
        "construction_site": "建筑工地",
        "other": "其他",
    },
}

# Geometry types a boundary may have at each level (level 5 may be a mere point).
GEOMETRY_TYPES = {1: {"Polygon", "MultiPolygon"}, 2: {"Polygon", "MultiPolygon"},
                  3: {"Polygon", "MultiPolygon"}, 4: {"Polygon", "MultiPolygon"},
                  5: {"Polygon", "Point"}}


@dataclass(frozen=True)
class Role:
    code: str
    name: str          # Chinese title as the plan uses it
    levels: frozenset[int]
    leads: bool = False  # holding it makes one the grid's leader (每个网格必须有网格长)


ROLES: dict[str, Role] = {r.code: r for r in (
    Role("chief", "总网格长", frozenset({1}), leads=True),
    Role("deputy_chief", "副总网格长", frozenset({1})),
    Role("first_leader", "第一网格长", frozenset({3})),
    Role("leader", "网格长", frozenset({2, 3, 4}), leads=True),
    Role("deputy_leader", "副网格长", frozenset({2, 3})),
    Role("unit_leader", "单位负责人", frozenset({5}), leads=True),
    Role("grid_member", "网格员", frozenset({4, 5})),
)}

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def level_of_code(code: str) -> int | None:
    """The level a well-formed code belongs to, or None."""
    if not code.isdigit() or not code.startswith(DISTRICT_CODE):
        return None
    for level, length in CODE_LENGTH.items():
        if len(code) == length:
            return level
    return None


def parent_code(code: str) -> str | None:
    level = level_of_code(code)
    if level is None or level == 1:
        return None
    return code[: CODE_LENGTH[level - 1]]


def child_code(parent: str, index: int) -> str:
    """The code of the `index`-th child (1-based) of `parent`."""
    level = level_of_code(parent)
    if level is None or level == 5:
        raise ValueError(f"{parent!r} cannot have children")
    digits = CODE_DIGITS[level + 1]
    if not 1 <= index < 10 ** digits:
        raise ValueError(f"child index {index} does not fit in {digits} digits")
    return parent + str(index).zfill(digits)


def valid_phone(phone: str) -> bool:
    """A mainland mobile number (11 digits from 13x-19x) or a landline with area code (0356-1234567)."""
    return bool(_MOBILE.match(phone) or _LANDLINE.match(phone))


def role_allowed(role: str, level: int) -> bool:
    return role in ROLES and level in ROLES[role].levels
