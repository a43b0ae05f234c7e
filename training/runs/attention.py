"""What the project page's "needs attention" says about training runs."""

from common.jobs import UNFINISHED, JobState, Waiting, job_waiting
from projects.models import Project
from training.runs.models import TrainingRun
from training.runs.selectors import runs_for_project

RECENT_RUNS = 5


def runs_needing_attention(*, user, project: Project) -> list[tuple[TrainingRun, Waiting | None]]:
    """Among the newest runs, those that failed or are unfinished, each with why it waits
    (no worker on its queue, or none running it any more); read from the cache only."""
    return [
        (run, job_waiting(run) if run.state in UNFINISHED else None)
        for run in runs_for_project(project)[:RECENT_RUNS]
        if run.state == JobState.FAILED or run.state in UNFINISHED
    ]
