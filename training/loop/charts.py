"""The loop page's charts across rounds, drawn from the rounds' stored figures."""

from common import charts

ROUND = charts.Axis("round", format="{:.0f}")
SHARE = charts.Axis("share", "of pairs", min=0, max=1, format="{:.0%}")


def round_charts(rounds) -> dict:
    """Reward-model accuracy on each round's fresh labels, and the arena's win rate of each
    round's policy against its baseline; None where no round has the figure yet."""
    labelled = [r for r in reversed(rounds) if r.rm_accuracy is not None]
    arena = [r for r in reversed(rounds) if r.arena.win_rate is not None]
    return {
        "rm_chart": charts.Chart(
            "Reward-model accuracy on each round's fresh labels", ROUND, SHARE,
            [charts.Series("reward-model accuracy", [(r.number, r.rm_accuracy) for r in labelled])],
            reference=charts.Reference(0.5, "chance"),
        ) if labelled else None,
        "arena_chart": charts.Chart(
            "Arena: the round's policy against its baseline (annotators' verdicts)", ROUND,
            charts.Axis("win rate", "share of games", min=0, max=1, format="{:.0%}"),
            [charts.Series("win rate", [(r.number, r.arena.win_rate) for r in arena])],
            reference=charts.Reference(0.5, "a coin flip"),
        ) if arena else None,
    }  # fmt: skip
