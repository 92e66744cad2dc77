"""The people of the demonstration grid and the roles they hold, one row per role held.

A person keeps one id, name, phone and job title across all their rows; many hold
roles in several grids (a town cadre is deputy of the town and first grid leader
of villages; a village committee member leads several level-4 grids).
"""
from __future__ import annotations

import random

from .. import levels
from . import names
from .naming import Namer


class Roster:
    def __init__(self, rng: random.Random, namer: Namer):
        self.rng = rng
        self.namer = namer
        self.rows: list[dict] = []
        self._phones: set[str] = set()
        self._count = 0

    def person(self, title: str) -> dict:
        self._count += 1
        while True:
            phone = self.rng.choice(names.MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"
            if phone not in self._phones:
                break
        self._phones.add(phone)
        return {"person_id": f"P{self._count:06d}", "name": self.namer.person(), "phone": phone, "title": title}

    def assign(self, person: dict, grid_code: str, role: str) -> None:
        level = levels.level_of_code(grid_code)
        if not levels.role_allowed(role, level):
            raise ValueError(f"role {role} is not held at level {level}")
        self.rows.append({**person, "grid_code": grid_code, "role": role})


def staff(rng: random.Random, namer: Namer, tree: dict) -> list[dict]:
    """Rows (person_id, name, phone, title, grid_code, role) for every grid in `tree`.

    `tree` is the district: {"code", "kind", "children": [...]} down to level 5.
    """
    roster = Roster(rng, namer)
    district = tree["code"]
    for role, titles in names.TITLES_DISTRICT.items():
        for title in titles:
            roster.assign(roster.person(title), district, role)
    for town in tree["children"]:
        _staff_town(rng, roster, town)
    return roster.rows


def _staff_town(rng: random.Random, roster: Roster, town: dict) -> None:
    titles = names.TITLES_LEVEL2[town["kind"]]
    for title in titles["leader"]:
        roster.assign(roster.person(title), town["code"], "leader")
    deputies = [roster.person(title) for title in titles["deputy_leader"][: rng.randint(1, 3)]]
    for deputy in deputies:
        roster.assign(deputy, town["code"], "deputy_leader")
    # First grid leaders (包村干部): each deputy takes one or two villages, other cadres the rest.
    villages = town["children"]
    cadres = []
    for deputy in deputies:
        cadres += [deputy] * rng.randint(1, 2)
    while len(cadres) < len(villages):
        cadre = roster.person(rng.choice(titles["cadre"]))
        cadres += [cadre] * rng.randint(1, 3)
    for village, cadre in zip(villages, cadres):
        _staff_village(rng, roster, village, cadre)


def _staff_village(rng: random.Random, roster: Roster, village: dict, first_leader: dict) -> None:
    code = village["code"]
    titles = names.TITLES_LEVEL3[village["kind"]]
    roster.assign(first_leader, code, "first_leader")
    leaders = rng.randint(1, 3)
    leader_titles = [titles["one_leader"]] if leaders == 1 else titles["leader"][:leaders]
    for title in leader_titles:
        roster.assign(roster.person(title), code, "leader")
    areas = village["children"]
    count = max(1, min(3, (len(areas) + 2) // 3 + rng.choice((-1, 0, 0))))
    deputies = [roster.person(rng.choice(titles["deputy_leader"])) for _ in range(count)]
    for deputy in deputies:
        roster.assign(deputy, code, "deputy_leader")
    # Each level-4 grid is led by a village committee member, in turn.
    for i, area in enumerate(areas):
        roster.assign(deputies[i % len(deputies)], area["code"], "leader")
        if rng.random() < 0.65:
            roster.assign(roster.person(rng.choice(names.TITLES_GRID_MEMBER)), area["code"], "grid_member")
        for point in area["children"]:
            title = rng.choice(names.TITLES_UNIT[point["kind"]])
            roster.assign(roster.person(title), point["code"], "unit_leader")
