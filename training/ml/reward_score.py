"""Score responses to a prompt with a trained reward model (no Django).

Importing this module loads no torch (the model code is imported when a scorer is
made), so services of the web process may name ``RewardScorer``; only workers make one.
"""

from pathlib import Path

from training.ml.encoding import encode
from training.ml.preference_data import Ranked, _text


class RewardScorer:
    """A loaded reward model; ``score`` returns one float per response."""

    def __init__(self, folder: str | Path, device: str | None = None):
        import torch

        from training.ml.reward_eval import scores_of
        from training.ml.reward_model import reward_model_load

        self._scores_of = scores_of
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.reward, self.tokenizer, self.max_length = reward_model_load(folder, self.device)

    def score(self, prompt, responses: list, batch_size: int = 32) -> list[float]:
        texts = [_text(r, f"responses[{n}]", completion=True) for n, r in enumerate(responses)]
        example = Ranked(_text(prompt, "prompt"), texts, [[n] for n in range(len(texts))])
        (encoded,) = encode([example], self.tokenizer, self.max_length)
        (scores,) = self._scores_of(
            self.reward, [encoded], self.tokenizer.pad_token_id, batch_size, self.device
        )
        return scores

    def score_pairs(self, pairs: list[tuple], batch_size: int = 32) -> list[float]:
        """One score per (prompt, response) pair, scored in length-grouped batches."""
        examples = [
            Ranked(_text(prompt, "prompt"), [_text(response, "response", completion=True)], [[0]])
            for prompt, response in pairs
        ]
        encoded = encode(examples, self.tokenizer, self.max_length)
        pad = self.tokenizer.pad_token_id
        return [s[0] for s in self._scores_of(self.reward, encoded, pad, batch_size, self.device)]
