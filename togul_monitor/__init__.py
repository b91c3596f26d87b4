"""togul-monitor: watch a Togul feature-flag server live from the terminal."""

__version__ = "0.1.0"
