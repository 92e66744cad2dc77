from servicekit.cli import make_cli

from .bootstrap import SPEC

main = make_cli(SPEC)

if __name__ == "__main__":
    raise SystemExit(main())
