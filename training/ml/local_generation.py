"""The door to a causal LM answering in this process, opened without loading torch.

Services that may run in a web process name ``local_generator``; torch and the model are
imported when a worker first calls it (``training.ml.generate``).
"""


def local_generator(path: str):
    """A ``LocalGenerator`` for the model folder at ``path`` (loads torch and the model)."""
    from training.ml.generate import LocalGenerator

    return LocalGenerator(path)
