"""Why compute could not be had."""


class ClusterError(Exception):
    """A cluster could not start or cannot serve a task; the message says why."""
