"""Store errors, said in words a user can act on."""


class RunNotFound(LookupError):
    """No run with that id in this workspace."""


class StoreUnavailable(RuntimeError):
    """The database could not be reached or upgraded."""


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means "not now" (the server is down or restarting, the
    connection broke, SQLite's file stayed locked past the busy timeout, no connection was
    free) rather than a mistake: such a write is retried, such a request answered 503."""
    from sqlalchemy import exc as sa

    if isinstance(exc, StoreUnavailable | sa.TimeoutError):
        return True
    if isinstance(exc, sa.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, sa.OperationalError |
                                                        sa.InterfaceError)
    return False


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
