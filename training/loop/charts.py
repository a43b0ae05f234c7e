"""The loop page's charts across rounds, drawn from the rounds' stored figures."""

from common import charts


def round_charts(rounds) -> dict:
    """Reward-model accuracy on each round's fresh labels, and the arena's win rate of each
    round's policy against its baseline; None where no round has the figure yet."""
    labelled = [r for r in reversed(rounds) if r.rm_accuracy is not None]
    arena = [r for r in reversed(rounds) if r.arena.win_rate is not None]
    return {
        "rm_chart": charts.line_chart(
            [charts.Series("reward-model accuracy", [(r.number, r.rm_accuracy) for r in labelled])],
            title="Reward-model accuracy on each round's fresh labels", y_min=0, y_max=1,
        ) if labelled else None,
        "arena_chart": charts.line_chart(
            [charts.Series("win rate", [(r.number, r.arena.win_rate) for r in arena])],
            title="Arena: the round's policy against its baseline (annotators' verdicts)",
            y_min=0, y_max=1,
        ) if arena else None,
    }  # fmt: skip
