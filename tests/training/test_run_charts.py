"""A run's curves: measured curves offer smoothing, a schedule the run sets (the learning
rate) is drawn as it is, on the run page and on the compare page alike."""

import pytest

from common.jobs import JobState
from tests.training.run_helpers import project_with_listwise_snapshot
from training.runs import charts
from training.runs.models import RunMetric, TrainingRun

pytestmark = pytest.mark.django_db


def _reward_runs(count: int) -> list[TrainingRun]:
    project, snapshot, _ = project_with_listwise_snapshot()
    runs = []
    for _ in range(count):
        run = TrainingRun.objects.create(
            project=project, kind="reward", snapshot=snapshot, state=JobState.SUCCEEDED
        )
        for step in range(1, 6):
            values = {"loss": 0.7 - step / 100, "accuracy": 0.5 + step / 100, "lr": step * 1e-5}
            RunMetric.objects.create(run=run, step=step, values=values)
        RunMetric.objects.create(run=run, step=5, values={"eval_loss": 0.6})
        runs.append(run)
    return runs


def test_the_learning_rate_is_not_smoothable_on_the_run_page_but_measured_curves_are():
    (run,) = _reward_runs(1)

    smooth = {chart.title: chart.payload()["smooth"] for chart in charts.run_curves(run)}

    assert smooth == {"Training loss": True, "Training pair accuracy": True,
                      "Learning rate": False}  # fmt: skip


def test_the_learning_rate_is_not_smoothable_on_the_compare_page():
    smooth = {chart.title: chart.smooth for chart in charts.compare_charts(_reward_runs(2))}

    assert smooth["Learning rate"] is False
    assert smooth["Training loss"] is True


@pytest.mark.parametrize("names", [("lr",), ("kl_coef",), ("beta",)])
def test_a_schedule_is_not_smoothable(names):
    assert not charts.smoothable(names)
    assert charts.smoothable(("loss", "eval_loss"))
