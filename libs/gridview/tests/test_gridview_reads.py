"""The read model's prebuilt queries (built once per GridReadModel, the code bound per call)."""
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from envgrid_gridview import GridReadModel, define_tables
from servicekit.testing import statements_sent


def member(membership_id, grid_code, name, leads=True, role="leader"):
    return {"membership_id": membership_id, "grid_code": grid_code, "person_id": f"P{membership_id}",
            "name": name, "phone": "13912345678", "role": role, "leads": leads}


def grid(code, name, level, parent):
    return {"code": code, "name": name, "level": level, "parent_code": parent, "kind": "area",
            "status": "active", "version": 1}


def test_people_and_leaders_of_each_grid_from_the_same_prebuilt_queries():
    metadata = MetaData()
    model = GridReadModel(define_tables(metadata))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as s:
        model.apply_member(s, member(3, "A", "王芳", leads=False, role="member"), removed=False)
        model.apply_member(s, member(1, "A", "张伟"), removed=False)
        model.apply_member(s, member(2, "A", "李娜"), removed=True)
        model.apply_member(s, member(4, "B", "赵强"), removed=False)
        model.apply_grid(s, grid("A", "城区", 1, None))
        model.apply_grid(s, grid("A1", "东街街道", 2, "A"))
        built = (model._grid, model._people, model._leaders)
        with statements_sent(engine) as statements:
            assert [p["name"] for p in model.people(s, "A")] == ["张伟", "王芳"]
            assert [p["name"] for p in model.leaders(s, "A")] == ["张伟"]
            assert [p["name"] for p in model.leaders(s, "B")] == ["赵强"]
            assert model.people(s, "C") == []
            assert [g["name"] for g in model.chain(s, "A1")] == ["城区", "东街街道"]
        assert all(now is before for now, before in zip((model._grid, model._people, model._leaders), built))
        assert len(statements) == 6  # one SELECT per call, one per level of the chain
