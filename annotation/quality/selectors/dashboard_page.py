"""Everything the manager's quality dashboard shows, read in one call."""

from annotation.quality.selectors.charts import (
    annotator_rows_with_sparklines,
    dashboard_charts,
    reward_rows,
)
from annotation.quality.selectors.dashboard import annotator_table, dashboard
from annotation.quality.selectors.figures import annotator_pairs, disagreement_list
from projects.models import Project

TAGS_SHOWN = 30
PAIRS_SHOWN = 20


def dashboard_page(project: Project, *, sort: str = "weight", descending: bool = False) -> dict:
    """The page's figures, charts and tables; waiting deltas are folded once for all."""
    board = dashboard(project)
    series = board.summary.series if board.summary else {}
    reward = series.get("reward_agreement")
    rows = annotator_table(project, sort=sort, descending=descending, fold=False)
    return {
        "board": board,
        "charts": dashboard_charts(board.summary),
        "rows": annotator_rows_with_sparklines(rows),
        "worst": disagreement_list(project),
        "pairs": annotator_pairs(project, limit=PAIRS_SHOWN, fold=False),
        "tags": series.get("tags", [])[:TAGS_SHOWN],
        "reward": reward,
        "reward_rows": reward_rows(reward),
    }
