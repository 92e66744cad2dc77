"""The grid read model, applied from events in any order (on dispatch's tables, which use it)."""
import pytest

from dispatch.bootstrap import SPEC
from dispatch.grid_view import apply_grid, apply_member, chain, leaders
from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.migrate import upgrade


@pytest.fixture
def db(tmp_path):
    settings = load_settings("dispatch", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    return Database(settings.database_url)


def grid(code, name, level, parent, version=1, status="active"):
    return {"code": code, "name": name, "level": level, "parent_code": parent, "kind": "area",
            "status": status, "version": version}


def member(membership_id, grid_code, name="张伟", role="leader", leads=True):
    return {"membership_id": membership_id, "grid_code": grid_code, "person_id": f"P{membership_id}",
            "name": name, "phone": "13912345678", "role": role, "leads": leads}


def test_the_chain_climbs_parents_from_the_read_model(db):
    with db.transaction() as s:
        apply_grid(s, grid("140502", "城区", 1, None))
        apply_grid(s, grid("140502001", "东街街道", 2, "140502"))
        apply_grid(s, grid("140502001001", "凤台社区", 3, "140502001"))
        assert [g["name"] for g in chain(s, "140502001001")] == ["城区", "东街街道", "凤台社区"]


def test_an_older_version_never_overwrites_a_newer_one(db):
    with db.transaction() as s:
        assert apply_grid(s, grid("140502001", "新名称", 2, "140502", version=3))
        assert not apply_grid(s, grid("140502001", "旧名称", 2, "140502", version=2))
        assert not apply_grid(s, grid("140502001", "新名称", 2, "140502", version=3))
        assert chain(s, "140502001")[0]["name"] == "新名称"


def test_a_removal_that_overtakes_its_assignment_wins(db):
    with db.transaction() as s:
        apply_member(s, member(7, "140502001"), removed=True)
        apply_member(s, member(7, "140502001"), removed=False)
        apply_member(s, member(8, "140502001", name="李娜"), removed=False)
        apply_member(s, member(9, "140502001", role="deputy_leader", leads=False), removed=False)
        assert [l["name"] for l in leaders(s, "140502001")] == ["李娜"]
