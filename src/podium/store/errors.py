"""Store errors, said in words a user can act on."""


class RunNotFound(LookupError):
    """No run with that id in this workspace."""


class StoreUnavailable(RuntimeError):
    """The database could not be reached or upgraded."""


class JobNotFound(LookupError):
    """No job with that id in the workspace's registry."""


class RunBusy(RuntimeError):
    """A run cannot be repaired now: it is active, or another repair got there first."""


class TickTaken(RuntimeError):
    """Another process fired (or wrote the state of) this trigger first."""


class PipelineNotFound(LookupError):
    """No pipeline (or update of it) with that id in the workspace."""


class PrincipalNotFound(LookupError):
    """No user, group or service principal with that id (or a member that is not one)."""


class PrincipalConflict(ValueError):
    """A principal's name is taken, or a change it cannot take (a built-in group)."""
