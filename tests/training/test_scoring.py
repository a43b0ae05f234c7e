"""Scoring responses with a registered reward model: the web process sends the work to the
``gpu`` queue (task ``training.score_responses``) and never loads a model itself; the
worker scores in-process."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from tests.conftest import WORKER_SKIP_REASON, start_celery_worker, worker_can_share_database
from tests.training.run_helpers import project_with_listwise_snapshot
from training.loop.tasks import score_responses
from training.ml import reward as trainer
from training.ml.reward_score import RewardScorer
from training.runs.models import ModelArtifact
from training.runs.services import scoring

PROMPT = [{"role": "user", "content": "Explain tides."}]
RESPONSES = ["A careful, complete answer.", "no", "An answer with some detail."]


def _reward_model(tmp_path) -> tuple[ModelArtifact, APIClient]:
    """A tiny reward model trained for two steps, registered, and an engineer's client."""
    project, snapshot, engineer = project_with_listwise_snapshot(12)
    train_file = snapshot.files.get(format="listwise", split="train")
    data = default_storage.path(f"{snapshot.path}/{train_file.name}")
    assert trainer.main(["train", "--data", data, "--out", str(tmp_path), "--strategy",
                         "feature", "--max-steps", "2", "--max-length", "48"]) == 0  # fmt: skip
    artifact = ModelArtifact.objects.create(
        project=project, kind="reward", name="rm", path=str(tmp_path / "model")
    )
    client = APIClient()
    client.force_authenticate(engineer)
    return artifact, client


def _expected(artifact: ModelArtifact) -> list[float]:
    return RewardScorer(Path(artifact.path)).score("\n\nHuman: Explain tides.", RESPONSES)


@pytest.mark.django_db
def test_the_workers_task_scores_in_process(tmp_path):
    # given a trained reward model
    artifact, _ = _reward_model(tmp_path)

    # when the gpu worker's task runs (here, in this process)
    rewards = score_responses(artifact.path, PROMPT, RESPONSES)

    # then it returns the model's rewards in order
    assert rewards == pytest.approx(_expected(artifact), abs=1e-5) and len(set(rewards)) == 3


@pytest.mark.django_db
def test_a_request_waits_for_the_gpu_queue_and_never_scores_itself(tmp_path, monkeypatch):
    # given a trained reward model, torch importable here, and no gpu worker running
    artifact, client = _reward_model(tmp_path)
    monkeypatch.setattr(scoring, "WORKER_TIMEOUT_S", 1)

    # when the API is asked to score
    response = client.post(
        f"/api/v1/models/{artifact.pk}/score/",
        {"prompt": PROMPT, "responses": RESPONSES},
        format="json",
    )

    # then it waited for a worker, said so, and loaded no model in this process
    assert response.status_code == 503, response.json()
    assert "no gpu worker scored in time" in response.json()["message"]
    assert not any(path == artifact.path for path, _ in scoring._loaded)


@pytest.mark.django_db(transaction=True)
def test_score_returns_the_models_rewards_in_order_through_a_gpu_worker(tmp_path):
    if not worker_can_share_database():
        pytest.skip(WORKER_SKIP_REASON)
    # given a trained reward model and a worker on the gpu queue
    artifact, client = _reward_model(tmp_path / "model-out")
    worker = start_celery_worker(tmp_path / "worker.log", queues="gpu")
    try:
        # when the API is asked to score
        response = client.post(
            f"/api/v1/models/{artifact.pk}/score/",
            {"prompt": PROMPT, "responses": RESPONSES},
            format="json",
        )
        empty = client.post(
            f"/api/v1/models/{artifact.pk}/score/", {"prompt": "x", "responses": []}, format="json"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=15)

    # then the worker's rewards come back in order; an empty list is refused before queueing
    assert response.status_code == 200, response.json()
    rewards = response.json()["rewards"]
    assert rewards == pytest.approx(_expected(artifact), abs=1e-5) and len(set(rewards)) == 3
    assert empty.status_code == 400
    listed = client.get(f"/api/v1/models/?project={artifact.project.slug}").json()
    assert [m["id"] for m in listed] == [artifact.pk]
