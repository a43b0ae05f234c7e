"""Whether this process can train: torch and transformers import here.

The run launcher asks before it claims a run, so a worker without the training stack
fails the run at once with the reason (the worker's task-failure handler names the
command that installs it) instead of starting a trainer that cannot import.
"""


def training_stack_check() -> None:
    """Raise ModuleNotFoundError (naming the module) when the stack is missing."""
    import torch  # noqa: F401
    import transformers  # noqa: F401
