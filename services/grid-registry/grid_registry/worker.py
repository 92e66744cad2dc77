"""The worker process of grid-registry: `python -m grid_registry.worker`."""
from servicekit.worker import run_worker

from .bootstrap import SPEC


def main() -> None:
    run_worker(SPEC)


if __name__ == "__main__":
    main()
