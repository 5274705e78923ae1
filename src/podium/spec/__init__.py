"""What a job is: bundle models, the YAML loader and validation with file:line errors."""

from podium.spec.errors import BundleError, Location, Problem
from podium.spec.loader import Bundle, load_bundle

__all__ = ["Bundle", "BundleError", "Location", "Problem", "load_bundle"]
