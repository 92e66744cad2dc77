"""The full-size demonstration district, loaded by the real command into PostgreSQL."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from servicekit.config import load_settings
from servicekit.db import Database

pytestmark = pytest.mark.integration


def cli(env, *args):
    exe = os.path.join(os.path.dirname(sys.executable), "envgrid-grid-registry")
    result = subprocess.run([exe, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_demo_district_loads_complete_with_zero_problems(pg_url):
    from grid_registry import grids as grid_cases
    from grid_registry import people
    from grid_registry.models import grids
    env = {"DATABASE_URL": pg_url}
    cli(env, "migrate")
    out = cli(env, "load-demo")
    assert "demo district loaded" in out
    db = Database(load_settings("grid-registry", {**os.environ, **env}).database_url)
    with db.transaction() as session:
        counts = dict(session.execute(select(grids.c.level, func.count()).group_by(grids.c.level)).all())
        assert [counts[level] for level in (1, 2, 3, 4)] == [1, 8, 146, 780]
        assert counts[5] >= 3000
        names = session.execute(select(grids.c.name).where(grids.c.level == 2).order_by(grids.c.code)).scalars().all()
        assert names == ["东街街道", "西街街道", "南街街道", "北街街道", "矿区街道", "钟家庄街道", "西上庄街道", "北石店镇"]
        # 全覆盖、无死角: what is registered, checked again as a whole, has no problem at all.
        assert grid_cases.coverage_report(session) == []
        assert people.grids_without_leader(session) == []
    # Loading again leaves the registry as it is.
    assert "already holds grids" in cli(env, "load-demo")
