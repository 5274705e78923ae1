"""Why a JVM library could not be had."""


class LibraryError(Exception):
    """A cluster's JVM library cannot be had (bad coordinates, not found, no network)."""
