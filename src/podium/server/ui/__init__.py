"""The web UI of `podium serve`: pages (`pages.py`), sign-in and CSRF (`session.py`), the
task graph and timeline (`graph.py`); templates and static files beside the package."""
