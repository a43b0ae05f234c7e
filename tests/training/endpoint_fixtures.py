"""An OpenAI-compatible endpoint served in the test process by the warm tiny policy, each
reply slowed down so that a job's progress can be watched and cancelled between chunks."""

import threading
import time

import pytest

from tests.training.ml.policy_fixtures import warm_policy  # noqa: F401 - fixture
from training.ml.generate import LocalGenerator
from training.ml.openai_server import ChatHandler, serve

SECONDS_PER_REPLY = 0.3  # ~5 s for a chunk of 16 prompts


class SlowHandler(ChatHandler):
    def chat_completion(self, body: dict) -> dict:
        time.sleep(SECONDS_PER_REPLY)
        return super().chat_completion(body)


@pytest.fixture
def slow_endpoint(warm_policy):  # noqa: F811
    """The endpoint's base URL; the model answers as "tiny-served"."""
    server = serve(LocalGenerator(str(warm_policy)), port=0, handler_class=SlowHandler,
                   model_name="tiny-served")  # fmt: skip
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.base_url
    server.shutdown()
    server.server_close()
