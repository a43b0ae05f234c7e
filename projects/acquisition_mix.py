"""The weights of the "mix" acquisition rule, and their one check.

The weights are a project setting (``Project.acquisition_mix``), checked when a manager
saves them; the rule that mixes (``training.loop.acquisition_rules``) checks with the same
function, so a mix the settings accept is one the rule runs. Pure Python (no Django): the
active-learning benchmark runs the rules outside a project.
"""

from collections.abc import Mapping

MIX_PARTS = ("random", "uncertainty", "disagreement")
DEFAULT_MIX = {"uncertainty": 0.5, "disagreement": 0.25, "random": 0.25}


def mix_weights(value: Mapping) -> dict[str, float]:
    """``value`` as rule name → float weight; ValueError (or TypeError for a weight that
    is no number) when a name is not a mixable rule, a weight is negative, or all are 0."""
    weights = {str(name): float(weight) for name, weight in value.items()}
    unknown = set(weights) - set(MIX_PARTS)
    if unknown or any(weight < 0 for weight in weights.values()) or not sum(weights.values()):
        raise ValueError(
            "mix weights name random, uncertainty or disagreement, are >= 0 and not all 0"
        )
    return weights
