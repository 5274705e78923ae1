"""The controller's finalize step: report what each pipeline ended with."""


def summarize(a: str, b: str, c: str) -> dict[str, str]:
    """Print and return each child pipeline's result state."""
    states = {"pipeline_a": a, "pipeline_b": b, "pipeline_c": c}
    for name, state in states.items():
        print(f"{name}: {state}")
    return states
