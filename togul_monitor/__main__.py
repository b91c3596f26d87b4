"""Entry point: `python -m togul_monitor` and the `togul-monitor` console script."""

from togul_monitor.cli import main

if __name__ == "__main__":
    main()
