"""Made-up Chinese names for villages, communities, grid points and people, unique where they must be."""
from __future__ import annotations

import random

from . import names


class Namer:
    """Draws names from `names`, never giving the same place or unit name twice."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.departments = list(names.AGENCY_DEPARTMENTS)
        rng.shuffle(self.departments)
        self._surname_weights = [1 / (i + 4) for i in range(len(names.SURNAMES))]

    def unique(self, make, tries: int = 40) -> str | None:
        for _ in range(tries):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        return None

    def _two(self, first: str, second: str) -> str:
        a = self.rng.choice(first)
        b = self.rng.choice(second)
        return a + b if a != b else a + self.rng.choice(second.replace(a, ""))

    def brand(self) -> str:
        return self._two(names.BRAND_FIRST, names.BRAND_SECOND)

    # --- level 3 -------------------------------------------------------------------------
    def community(self) -> str:
        return self.unique(lambda: self._two(names.COMMUNITY_FIRST, names.COMMUNITY_SECOND) + "社区", 500)

    def village(self) -> str:
        def make() -> str:
            r = self.rng.random()
            if r < 0.15:
                stem = self.rng.choice(names.VILLAGE_SPECIAL)
            elif r < 0.35:
                stem = self.rng.choice(names.SURNAMES) + self.rng.choice(("庄", "家庄", "家沟", "家河", "窑"))
            elif r < 0.7:
                stem = self.rng.choice(names.VILLAGE_DIRECTION) + self.rng.choice(names.VILLAGE_LANDFORM)
            else:
                stem = self.rng.choice(names.VILLAGE_NATURE) + self.rng.choice(names.VILLAGE_LANDFORM)
            return stem + "村"
        return self.unique(make, 500)

    # --- level 5 -------------------------------------------------------------------------
    def grid_point(self, kind: str, place: dict, factory: bool = False) -> str | None:
        """A name for a grid point of `kind` in `place` ({"l2", "l3", "road"}: short names), or None."""
        rng = self.rng

        def enterprise() -> str:
            trades = [t for t, yard in names.ENTERPRISE_TRADES if yard == factory]
            trade = rng.choice(trades)
            prefix = rng.choice(("晋城市", "山西", "", "")) if trade.endswith("公司") else ""
            return prefix + self.brand() + trade

        def agency() -> str:
            if self.departments and rng.random() < 0.15:
                return "城区" + self.departments.pop()
            return rng.choice(names.AGENCY_LOCAL).format(**place)

        def social() -> str:
            return rng.choice(names.SOCIAL_ORGANISATIONS).format(brand=self.brand(), **place)

        def compound() -> str:
            r = rng.random()
            if r < 0.15:
                return place["l3"] + rng.choice(("小区", "新村", "家属院"))
            if r < 0.3:
                return self.brand() + rng.choice(("小区", "家属院"))
            return self._two(names.COMMUNITY_FIRST, names.COMMUNITY_SECOND) + rng.choice(names.COMPOUND_SUFFIXES)

        def market() -> str:
            r = rng.random()
            if r < 0.4:
                return place["l2"] + "农贸市场"
            if r < 0.7:
                return place["l3"] + "菜市场"
            return self.brand() + rng.choice(names.MARKET_KINDS)

        def site() -> str:
            if rng.random() < 0.2:
                return place["road"] + rng.choice(("道路改造", "雨污分流", "管网改造")) + "项目建筑工地"
            return (self._two(names.COMMUNITY_FIRST, names.COMMUNITY_SECOND)
                    + rng.choice(names.CONSTRUCTION_PROJECTS) + "项目建筑工地")

        def other() -> str:
            return rng.choice(names.OTHERS).format(brand=self.brand(), **place)

        makers = {"enterprise": enterprise, "agency": agency, "social_organisation": social,
                  "residential_compound": compound, "market": market, "construction_site": site, "other": other}
        return self.unique(makers[kind])

    # --- people --------------------------------------------------------------------------
    def person(self) -> str:
        """A person's name; common names repeat, as they do."""
        surname = self.rng.choices(names.SURNAMES, weights=self._surname_weights)[0]
        chars = names.GIVEN_MALE if self.rng.random() < 0.6 else names.GIVEN_FEMALE
        given = self.rng.choice(chars)
        if self.rng.random() < 0.7:
            given += self.rng.choice(chars)
        return surname + given
