"""The worker process of dispatch: `python -m dispatch.worker`."""
from servicekit.worker import run_worker

from .bootstrap import SPEC


def main() -> None:
    run_worker(SPEC)


if __name__ == "__main__":
    main()
