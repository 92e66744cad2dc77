"""Write the demonstration district: DIR/district.geojson (all five levels) and DIR/people.csv."""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from .generate import generate

PEOPLE_COLUMNS = ["person_id", "name", "phone", "title", "grid_code", "role"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grid_registry.demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--out", type=Path, required=True, help="directory to write into (created if missing)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    demo = generate(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "district.geojson", "w", encoding="utf-8", newline="\n") as f:
        f.write('{"type": "FeatureCollection", "features": [\n')
        f.write(",\n".join(json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
                           for feature in demo.features))
        f.write("\n]}\n")
    with open(args.out / "people.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PEOPLE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(demo.people)

    counts = {level: 0 for level in range(1, 6)}
    for feature in demo.features:
        counts[feature["properties"]["level"]] += 1
    persons = len({row["person_id"] for row in demo.people})
    print(f"seed {args.seed}: levels 1-5 {list(counts.values())}, {persons} people in {len(demo.people)} roles, "
          f"{time.perf_counter() - started:.1f} s → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
