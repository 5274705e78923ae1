"""podium: run many Spark tasks on reused Spark compute, with a jobs service's features."""

__version__ = "0.1.0"
