"""The OpenAI-compatible client against the real server over a tiny real policy: answers
round-trip, and faults injected server-side (a slow reply, 429, 503, malformed replies,
an endpoint that ignores ``n``, a wrong key) meet the retries, errors and rate limit the
client promises. Requests are counted where they arrive: at the server."""

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.training.ml.policy_fixtures import policy_prompts
from training.loop.generation.openai_client import (
    Completion,
    GenerationRequestFailed,
    OpenAIChatClient,
)
from training.ml.generate import LocalGenerator
from training.ml.openai_server import ChatHandler, serve
from training.ml.policy import policy_save, tiny_policy

MESSAGES = [{"role": "user", "content": "Tell me about cats."}]
SAMPLING = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 10}
KEY = "sk-test-0123456789abcdef"


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> LocalGenerator:
    """A tiny GPT-2 as built, untrained: its answers are noise, but real samples of a real
    model, which is all the client needs (warming it up costs seconds on a busy CPU)."""
    folder = tmp_path_factory.mktemp("policy") / "tiny"
    policy_save(*tiny_policy(policy_prompts(), seed=0), folder)
    return LocalGenerator(str(folder), device="cpu")


@contextlib.contextmanager
def running(generator, handler_class=ChatHandler, api_key=None):
    """The server on a free port, serving from a thread until the block ends."""
    server = serve(generator, "127.0.0.1", 0, api_key, handler_class=handler_class,
                   model_name="tiny-warm")  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()


def counting(behaviour=None) -> type[ChatHandler]:
    """A ChatHandler that counts POSTs; ``behaviour(handler, number)`` (1 for the first)
    may answer instead of the model by returning True."""
    lock = threading.Lock()

    class Counted(ChatHandler):
        posts = 0

        def do_POST(self):
            self.read_body()
            with lock:
                type(self).posts += 1
                number = type(self).posts
            if behaviour is None or not behaviour(self, number):
                super().do_POST()

    return Counted


def client(base_url, **options) -> OpenAIChatClient:
    return OpenAIChatClient(base_url, "tiny-warm", **{"backoff_s": 0.01, **options})


def test_n_distinct_completions_round_trip(generator):
    # given
    with running(generator) as base_url, client(base_url) as chat:
        # when
        completions = chat.complete(MESSAGES, 3, seed=0, **SAMPLING)
        listed = httpx.get(f"{base_url}/models").json()
    # then
    assert len(completions) == 3 and len({c.text for c in completions}) == 3
    assert all(isinstance(c, Completion) and c.text for c in completions)
    assert all(c.finish_reason in ("stop", "length") for c in completions)
    assert [m["id"] for m in listed["data"]] == ["tiny-warm"]


def test_the_reply_follows_openais_schema(generator):
    # given
    body = {"model": "tiny-warm", "messages": MESSAGES, "n": 2, "max_tokens": 8, "seed": 1}
    with running(generator) as base_url:
        # when
        reply = httpx.post(f"{base_url}/chat/completions", json=body).json()
    # then
    assert reply["object"] == "chat.completion" and reply["model"] == "tiny-warm"
    assert reply["id"].startswith("chatcmpl-") and isinstance(reply["created"], int)
    assert [c["index"] for c in reply["choices"]] == [0, 1]
    assert all(c["message"]["role"] == "assistant" for c in reply["choices"])
    usage = reply["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "tiny-warm"}, "messages must be a non-empty list"),
        ({"model": "tiny-warm", "messages": MESSAGES, "temperature": 5}, "temperature must be"),
        ({"model": "tiny-warm", "messages": MESSAGES, "n": 0}, "n must be"),
        ({"model": "tiny-warm", "messages": MESSAGES, "stream": True}, "stream is not supported"),
        (
            {"model": "tiny-warm", "messages": [{"role": "user", "content": 3}]},
            "content must be text",
        ),
        (
            {"model": "tiny-warm", "messages": MESSAGES, "n": 2, "temperature": 0, "max_tokens": 8},
            None,
        ),
    ],
)
def test_bad_requests_get_400_with_an_openai_error(generator, body, message):
    # given
    with running(generator) as base_url:
        # when
        reply = httpx.post(f"{base_url}/chat/completions", json=body)
    # then
    if message is None:  # greedy n > 1 is fine: the one answer, repeated
        texts = [c["message"]["content"] for c in reply.json()["choices"]]
        assert reply.status_code == 200 and len(texts) == 2 and texts[0] == texts[1]
        return
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert message in error["message"] and error["type"] == "invalid_request_error"


def test_a_bad_request_is_not_retried(generator):
    # given
    handler = counting()
    with running(generator, handler) as base_url, client(base_url, max_retries=3) as chat:
        # when
        with pytest.raises(GenerationRequestFailed) as caught:
            chat.complete(MESSAGES, 1, temperature=7.0, top_p=1.0, max_tokens=5)
    # then
    assert str(caught.value) == (
        f"POST {base_url}/chat/completions: HTTP 400: temperature must be a number from 0 to 2"
    )
    assert handler.posts == 1


def _slow(first_only: bool):
    def behaviour(handler, number):
        if number == 1 or not first_only:
            time.sleep(0.8)  # past the client's 0.4 s; it has left, so nothing is sent
            return True
        return False  # the model answers

    return behaviour


def test_a_slow_first_reply_is_retried_and_the_second_answers(generator):
    # given
    handler = counting(_slow(first_only=True))
    with running(generator, handler) as base_url, client(base_url, timeout_s=0.4) as chat:
        # when
        [completion] = chat.complete(MESSAGES, 1, seed=0, **SAMPLING)
    # then
    assert completion.text
    assert handler.posts == 2


def test_every_reply_too_slow_fails_after_the_retries(generator):
    # given
    handler = counting(_slow(first_only=False))
    with running(generator, handler) as base_url:
        chat = client(base_url, timeout_s=0.4, max_retries=2)
        # when
        with pytest.raises(GenerationRequestFailed) as caught:
            chat.complete(MESSAGES, 1, **SAMPLING)
    # then
    assert str(caught.value) == (
        f"POST {base_url}/chat/completions: timed out after 3 attempts (timeout 0.4 s)"
    )
    assert handler.posts == 3


@pytest.mark.parametrize("retry_after", ["0", "1"])
def test_429_waits_retry_after_then_the_model_answers(generator, retry_after):
    # given
    def busy_once(handler, number):
        if number == 1:
            handler.send_json(429, {"error": {"message": "slow down", "type": "rate_limit"}},
                              {"Retry-After": retry_after})  # fmt: skip
            return True
        return False

    handler = counting(busy_once)
    with running(generator, handler) as base_url, client(base_url, backoff_s=0.0) as chat:
        # when
        started = time.perf_counter()
        [completion] = chat.complete(MESSAGES, 1, seed=0, **SAMPLING)
        took = time.perf_counter() - started
    # then: the model's own words, after the server's wait
    direct = generator.generate([MESSAGES], 1, seed=0, max_new_tokens=10, temperature=1.0,
                                top_p=1.0)[0][0]  # fmt: skip
    assert completion.text == direct.text
    assert handler.posts == 2
    assert took >= float(retry_after) * 0.9


def test_5xx_is_retried_then_named_with_the_servers_message(generator):
    # given
    def down(handler, number):
        handler.send_json(503, {"error": {"message": "model is loading", "type": "server_error"}})
        return True

    handler = counting(down)
    with running(generator, handler) as base_url, client(base_url, max_retries=1) as chat:
        # when
        with pytest.raises(
            GenerationRequestFailed, match="HTTP 503 after 2 attempts: model is loading$"
        ):
            chat.complete(MESSAGES, 1, **SAMPLING)
    # then
    assert handler.posts == 2


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (b"{not json", "not JSON: '{not json'"),
        (json.dumps({"id": "x", "object": "chat.completion"}).encode(), "malformed reply: choices missing"),
        (json.dumps({"choices": [{"index": 0, "message": {"role": "assistant"}}]}).encode(),
         "malformed reply: choices[0].message.content missing"),
    ],
)  # fmt: skip
def test_a_malformed_reply_fails_at_once_naming_the_problem(generator, reply, problem):
    # given
    def broken(handler, number):
        handler.send_bytes(200, reply)
        return True

    handler = counting(broken)
    with running(generator, handler) as base_url, client(base_url) as chat:
        # when
        with pytest.raises(GenerationRequestFailed) as caught:
            chat.complete(MESSAGES, 1, **SAMPLING)
    # then
    assert str(caught.value) == f"POST {base_url}/chat/completions: {problem}"
    assert handler.posts == 1


def test_an_endpoint_that_ignores_n_is_asked_again(generator):
    # given: a server that answers one choice whatever n says
    class OneAtATime(counting()):
        def chat_completion(self, body):
            return super().chat_completion({**body, "n": 1})

    with running(generator, OneAtATime) as base_url, client(base_url) as chat:
        # when
        completions = chat.complete(MESSAGES, 3, seed=5, **SAMPLING)
    # then
    assert len(completions) == 3
    assert OneAtATime.posts == 3


@pytest.mark.parametrize("given", [None, "sk-wrong-key-42"])
def test_a_missing_or_wrong_key_gets_a_clear_401_without_retries(generator, given):
    # given
    handler = counting()
    with running(generator, handler, api_key=KEY) as base_url:
        # when
        with pytest.raises(GenerationRequestFailed) as caught:
            client(base_url, api_key=given).complete(MESSAGES, 1, **SAMPLING)
        [answer] = client(base_url, api_key=KEY).complete(MESSAGES, 1, **SAMPLING)
    # then
    message = str(caught.value)
    assert message.startswith(f"POST {base_url}/chat/completions: HTTP 401: missing or incorrect")
    assert KEY not in message and (given is None or given not in message)
    assert answer.text
    assert handler.posts == 2  # the refused one once, then the right key


def test_the_key_never_shows_even_when_a_server_echoes_it(generator):
    # given
    def echo(handler, number):
        sent = handler.headers["Authorization"]
        handler.send_json(401, {"error": {"message": f"Incorrect API key provided: {sent}"}})
        return True

    with running(generator, counting(echo)) as base_url:
        # when
        with pytest.raises(GenerationRequestFailed) as caught:
            client(base_url, api_key=KEY).complete(MESSAGES, 1, **SAMPLING)
    # then
    assert KEY not in str(caught.value) and "Bearer ***" in str(caught.value)
    assert KEY not in repr(client("http://x/v1", api_key=KEY))


def test_a_refused_connection_is_retried_then_named():
    # given: a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chat = client(f"http://127.0.0.1:{port}/v1", max_retries=1)
    # when / then
    with pytest.raises(
        GenerationRequestFailed, match=r"connection failed after 2 attempts \(ConnectError"
    ):
        chat.complete(MESSAGES, 1, **SAMPLING)


def test_the_rate_limit_spaces_requests(generator):
    # given: 600 a minute is one each 0.1 s
    with running(generator) as base_url, client(base_url, requests_per_minute=600) as chat:
        # when
        started = time.perf_counter()
        for _ in range(3):
            chat.complete(MESSAGES, 1, max_tokens=2, temperature=1.0, top_p=1.0)
        took = time.perf_counter() - started
    # then
    assert took >= 0.19


def test_the_client_imports_neither_torch_nor_django():
    # given: a fresh interpreter, as in the web tier
    code = (
        "import sys, training.loop.generation.openai_client; "
        "print(sorted(m for m in ('torch', 'django', 'transformers') if m in sys.modules))"
    )
    # when
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # then
    assert out.stdout.strip() == "[]"
