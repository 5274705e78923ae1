"""What a job is: bundle models, the YAML loader and validation with file:line errors.

The loader (and the pydantic models it builds) is imported on first use, so commands
that read no bundle start without it."""

from typing import Any

from podium.spec.errors import BundleError, Location, Problem

__all__ = ["Bundle", "BundleError", "Location", "Problem", "load_bundle"]


def __getattr__(name: str) -> Any:
    if name in ("Bundle", "load_bundle"):
        from podium.spec import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'podium.spec' has no attribute {name!r}")
