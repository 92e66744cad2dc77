from servicekit.worker import run_worker

from .bootstrap import SPEC

if __name__ == "__main__":
    run_worker(SPEC)
