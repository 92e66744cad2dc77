"""A generated demonstration district: `python -m grid_registry.demo --seed 2018 --out DIR`."""
from .generate import Demo, generate

__all__ = ["Demo", "generate"]
