"""Why compute could not be had."""


class ClusterError(Exception):
    """A cluster could not start or cannot serve a task; the message says why."""


class LibraryError(ClusterError):
    """A cluster's JVM library cannot be had (bad coordinates, not found, no network)."""


class EnvironmentBuildError(Exception):
    """A task's Python environment cannot be resolved or built; the message is uv's reason."""
