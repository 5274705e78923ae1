"""Engine fixtures live in tests/conftest.py (one session executor for the whole run);
this module re-exports the helpers engine tests import by name."""

from tests.conftest import CLUSTER, TEST_CONF, on_session_cluster

__all__ = ["CLUSTER", "TEST_CONF", "on_session_cluster"]
