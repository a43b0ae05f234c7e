"""How local generation fails or stops, without torch: callers in the web's layers catch
these while only a worker loads the model (``training.ml.generate``)."""


class GenerationStopped(Exception):
    """The caller's ``should_stop`` said stop (a cancelled job): the call's answers are
    dropped, mid-batch included."""


class GenerationFailed(ValueError):
    """A prompt did not get k distinct non-empty answers within the attempts allowed."""

    def __init__(self, message: str, prompt_index: int):
        super().__init__(message)
        self.prompt_index = prompt_index
