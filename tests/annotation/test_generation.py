"""The generation backend registry: unset, unknown, a working backend and a misbehaving one."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotation.authoring.generation import (
    GeneratedResponse,
    GenerationNotConfigured,
    available_backends,
    backend_status,
    generate_responses,
    register_backend,
    registered_backend,
    unregister_backend,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = [{"role": "user", "content": "Name a colour."}]


class EchoBackend:
    """Stands in for a model server we do not run in tests: deterministic, numbered replies."""

    name = "echo"

    def __init__(self, *, count_offset: int = 0, blank_at: int | None = None) -> None:
        self.count_offset = count_offset
        self.blank_at = blank_at

    def generate(self, messages: list[dict], k: int, **options) -> list[GeneratedResponse]:
        settings = {"temperature": options.get("temperature", 1.0), "seed": options.get("seed")}
        texts = [
            f"reply {index} to {messages[-1]['content']}" for index in range(k + self.count_offset)
        ]
        if self.blank_at is not None:
            texts[self.blank_at] = "   "
        return [
            GeneratedResponse(text=text, model_name="echo-1", settings=settings) for text in texts
        ]


@pytest.fixture
def echo() -> Iterator[str]:
    with registered_backend("echo", EchoBackend):
        yield "echo"


def test_no_backend_configured_raises_not_configured():
    for backend in (None, ""):
        with pytest.raises(GenerationNotConfigured, match="no generation backend configured"):
            generate_responses(PROMPT, 2, backend=backend)


def test_not_configured_message_names_the_setting():
    assert "generation backend" in str(GenerationNotConfigured())


def test_registry_starts_empty():
    # A fresh interpreter, so backends other tests' imports registered do not count:
    # the module itself ships none, since no built-in backend may fabricate text.
    code = "from annotation.authoring.generation import available_backends; print(available_backends())"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )

    assert result.stdout.strip() == "[]"


def test_unknown_backend_lists_the_available_ones(echo):
    with pytest.raises(ValueError, match=r"unknown generation backend 'vllm'; available: echo"):
        generate_responses(PROMPT, 2, backend="vllm")


def test_unknown_backend_with_empty_registry_says_none():
    with pytest.raises(ValueError, match="available: none"):
        generate_responses(PROMPT, 2, backend="transformers")


def test_registered_backend_output_passes_through(echo):
    # when
    responses = generate_responses(PROMPT, 3, backend=echo, temperature=0.7, seed=11)

    # then
    assert [response.text for response in responses] == [
        "reply 0 to Name a colour.",
        "reply 1 to Name a colour.",
        "reply 2 to Name a colour.",
    ]
    assert {response.model_name for response in responses} == {"echo-1"}
    assert responses[0].settings == {"temperature": 0.7, "seed": 11}


@pytest.mark.parametrize("count_offset", [-1, 1])
def test_backend_returning_the_wrong_count_is_rejected(count_offset):
    with registered_backend("miscounting", lambda: EchoBackend(count_offset=count_offset)):
        with pytest.raises(RuntimeError, match="'miscounting' returned"):
            generate_responses(PROMPT, 3, backend="miscounting")


def test_backend_returning_an_empty_text_is_rejected():
    with registered_backend("blank", lambda: EchoBackend(blank_at=1)):
        with pytest.raises(RuntimeError, match="'blank' returned an empty response 2"):
            generate_responses(PROMPT, 3, backend="blank")


def test_backend_returning_plain_strings_is_rejected():
    class StringsBackend:
        name = "strings"

        def generate(self, messages, k, **options):
            return ["text"] * k

    with registered_backend("strings", StringsBackend):
        with pytest.raises(RuntimeError, match="not a GeneratedResponse"):
            generate_responses(PROMPT, 2, backend="strings")


@pytest.mark.parametrize("k", [0, 10, -1, True, 2.0, "3"])
def test_k_out_of_range_is_rejected(echo, k):
    with pytest.raises(ValueError, match="k must be an integer from 1 to 9"):
        generate_responses(PROMPT, k, backend=echo)


def test_k_at_the_limits_is_accepted(echo):
    assert len(generate_responses(PROMPT, 1, backend=echo)) == 1
    assert len(generate_responses(PROMPT, 9, backend=echo)) == 9


def test_empty_prompt_is_rejected(echo):
    with pytest.raises(ValueError, match="no messages"):
        generate_responses([], 2, backend=echo)


def test_names_register_once_and_unregister_cleans_up():
    # given
    register_backend("once", EchoBackend)
    try:
        # when / then
        with pytest.raises(ValueError, match="already registered"):
            register_backend("once", EchoBackend)
        assert available_backends() == ["once"]
    finally:
        unregister_backend("once")

    assert available_backends() == []
    unregister_backend("once")  # unknown names are ignored


def test_context_manager_unregisters_even_after_an_error():
    with pytest.raises(RuntimeError):
        with registered_backend("short-lived", EchoBackend):
            raise RuntimeError("boom")

    assert "short-lived" not in available_backends()


def test_backend_status_lines(echo):
    assert backend_status(None) == "Not configured"
    assert backend_status("") == "Not configured"
    assert backend_status("echo") == "Backend 'echo' (registered)"
    assert (
        backend_status("transformers") == "Backend 'transformers' is not installed on this server"
    )
