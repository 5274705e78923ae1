"""Why compute could not be had."""


class ClusterError(Exception):
    """A cluster could not start or cannot serve a task; the message says why."""


class CatalogError(Exception):
    """A Unity Catalog object cannot be read or changed: Databricks' error code and why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
