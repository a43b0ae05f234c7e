"""A minimal OpenAI-compatible chat server over a local model (``LocalGenerator``).

    python -m training.ml.openai_server --model PATH [--host 127.0.0.1] [--port 8001]
        [--api-key-env VAR] [--served-model-name NAME] [--device D]

Endpoints, under ``http://HOST:PORT/v1``:

- ``GET /v1/models``: the one model served (its id: ``--served-model-name``, by default
  the ``--model`` argument as given, as vLLM names it);
- ``POST /v1/chat/completions``: ``model``, ``messages`` (content as text or a list of
  text parts), ``n``, ``temperature`` (0: greedy), ``top_p``, ``max_tokens`` (or
  ``max_completion_tokens``), ``seed``; the reply is OpenAI's ``chat.completion`` object
  (``id``, ``object``, ``created``, ``model``, ``choices[{index, message{role,
  content}, finish_reason}]``, ``usage``). When sampling, a reply's n answers are distinct
  and non-empty (see ``training.ml.generate``); greedy n > 1 repeats the one answer, as
  OpenAI does. ``stream`` and ``stop`` are refused; other fields are ignored;
- ``GET /health``: ``{"status": "ok"}``, without a key (for container health checks).

Bad requests get 400 (404 for an unknown path or model, 401 for a missing or wrong key,
500 when the model could not give n distinct answers) with OpenAI's error body
``{"error": {"message", "type", "param", "code"}}``. ``--api-key-env VAR`` requires
``Authorization: Bearer <the value of $VAR>``; the key is never logged. One generation
runs at a time (a lock); other requests wait their turn.

Why the standard library's ``ThreadingHTTPServer`` and no web framework: the servers
that speak this API for an arbitrary transformers model (vLLM, TGI, llama.cpp's server)
bring a runtime of their own, and no small, well-kept library does; two endpoints and
JSON are a few dozen lines here. For throughput on GPUs, run vLLM against the same
folder: the platform's client (``training.loop.generation.openai_client``) talks to either.

``serve(generator, host, port, api_key)`` binds and returns the server without serving
(``server.serve_forever()`` serves; tests run it in a thread on port 0); its
``handler_class`` (a ``ChatHandler`` subclass) lets a test change how requests are met.
"""

import argparse
import hmac
import json
import logging
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from training.ml.generate import GenerationFailed, LocalGenerator, conversation_check

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256  # OpenAI's default is "what the context allows"; answers here are short
MAX_N = 32  # answers per request: more is a batch job (python -m training.ml.generate)
MAX_BODY_BYTES = 4 * 1024 * 1024


class RequestError(Exception):
    """A request the server refuses: HTTP status and OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        kind: str = "invalid_request_error",
        code: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.kind = kind  # OpenAI's error "type"
        self.code = code

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def _number(body: dict, name: str, default: float, low: float, high: float) -> float:
    value = body.get(name, default)
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestError(400, f"{name} must be a number from {low:g} to {high:g}", param=name)
    return float(value)


def _integer(body: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(400, f"{name} must be an integer from {low} to {high}", param=name)
    return value


def _top_p(body: dict) -> float:
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    if top_p == 0:
        raise RequestError(400, "top_p must be above 0 (and at most 1)", param="top_p")
    return top_p


def messages_of(value) -> list[dict]:
    """The request's messages as {role, content} with text content (text parts joined)."""
    if not isinstance(value, list) or not value:
        raise RequestError(400, "messages must be a non-empty list", param="messages")
    out = []
    for n, message in enumerate(value):
        if not isinstance(message, dict):
            raise RequestError(400, f"messages[{n}] must be an object", param="messages")
        content = message.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            if not all(isinstance(p, dict) and p.get("type") == "text" for p in content):
                raise RequestError(
                    400, f"messages[{n}].content: only text parts are supported", param="messages"
                )
            content = "".join(str(p.get("text", "")) for p in content)
        out.append({"role": message.get("role"), "content": content})
    try:
        conversation_check(out, "messages")
    except ValueError as exc:
        raise RequestError(400, str(exc), param="messages") from None
    return out


def chat_settings(body: dict, served: str) -> dict:
    """Keyword arguments of ``LocalGenerator.generate`` (and the messages) of a request
    body; RequestError for anything this server cannot honour."""
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object")
    if body.get("model") != served:
        raise RequestError(
            404,
            f"model {body.get('model')!r} is not served here (this server "
            f"serves {served!r}; see GET /v1/models)",
            param="model",
            code="model_not_found",
        )
    for name in ("stream", "stop"):
        if body.get(name):
            raise RequestError(400, f"{name} is not supported by this server", param=name)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return {
        "messages": messages_of(body.get("messages")),
        "n": _integer(body, "n", 1, 1, MAX_N),
        "temperature": _number(body, "temperature", 1.0, 0.0, 2.0),
        "top_p": _top_p(body),
        "max_new_tokens": _integer(
            {"max_tokens": max_tokens}, "max_tokens", DEFAULT_MAX_TOKENS, 1, 1 << 20
        ),
        "seed": _integer(body, "seed", None, -(1 << 63), (1 << 63) - 1),
    }


class ChatServer(ThreadingHTTPServer):
    """The HTTP server and what its handlers share: the generator, its lock, the key."""

    daemon_threads = True

    def __init__(self, address, handler_class, generator, model_name: str, api_key: str | None):
        super().__init__(address, handler_class)
        self.generator, self.model_name, self.api_key = generator, model_name, api_key
        self.generation_lock = threading.Lock()  # one generation at a time
        self.started = int(time.time())

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


class ChatHandler(BaseHTTPRequestHandler):
    """The endpoints; ``chat_completion(body)`` is the part a subclass may change."""

    server: ChatServer
    server_version = "PrefLabOpenAI/0.1"

    def read_body(self) -> bytes:
        """The request body, read once (a reply sent before the body is read can reach
        the client as a reset connection)."""
        if not hasattr(self, "_body"):
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise RequestError(400, "Content-Length is not a number") from None
            if length > MAX_BODY_BYTES:
                raise RequestError(413, f"the body is over {MAX_BODY_BYTES} bytes")
            self._body = self.rfile.read(length) if length > 0 else b""
        return self._body

    def send_bytes(self, status: int, data: bytes, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            logger.info("%s: the client left before the reply", self.path)

    def send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), headers)

    def authorized(self) -> bool:
        key = self.server.api_key
        if key is None:
            return True
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), key.encode())

    def do_GET(self) -> None:
        if self.path == "/health":
            return self.send_json(200, {"status": "ok"})
        if not self.authorized():
            return self.send_json(*_unauthorized())
        if self.path.rstrip("/") != "/v1/models":
            return self.send_json(404, RequestError(404, f"no such path: {self.path}").body())
        model = {
            "id": self.server.model_name,
            "object": "model",
            "created": self.server.started,
            "owned_by": "preflab",
        }
        self.send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        try:
            raw = self.read_body()
            if not self.authorized():
                return self.send_json(*_unauthorized())
            if self.path.rstrip("/") != "/v1/chat/completions":
                raise RequestError(404, f"no such path: {self.path}")
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RequestError(400, f"the body is not JSON ({exc})") from None
            self.send_json(200, self.chat_completion(body))
        except RequestError as exc:
            self.send_json(exc.status, exc.body())
        except Exception as exc:  # a reply, not a dropped connection the client would retry
            logger.exception("%s failed", self.path)
            error = RequestError(500, f"{type(exc).__name__}: {exc}", kind="server_error")
            self.send_json(500, error.body())

    def chat_completion(self, body: dict) -> dict:
        """The ``chat.completion`` reply to a request body (RequestError if refused)."""
        settings = chat_settings(body, self.server.model_name)
        messages, n = settings.pop("messages"), settings.pop("n")
        generator = self.server.generator
        try:
            with self.server.generation_lock:
                answers = generator.generate(
                    [messages], n, distinct=settings["temperature"] > 0, **settings
                )[0]
                prompt = len(generator.prompt_ids([messages], settings["max_new_tokens"])[0])
        except GenerationFailed as exc:
            raise RequestError(
                500, f"could not sample {n} distinct answers: {exc}", kind="server_error"
            ) from None
        except ValueError as exc:
            raise RequestError(400, str(exc)) from None
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": a.text},
                "logprobs": None,
                "finish_reason": a.finish_reason,
            }
            for i, a in enumerate(answers)
        ]
        completion = sum(a.tokens for a in answers)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server.model_name,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    def log_message(self, format: str, *args) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def _unauthorized() -> tuple[int, dict, dict]:
    error = RequestError(
        401, "missing or incorrect API key (send Authorization: Bearer KEY)", code="invalid_api_key"
    )
    return 401, error.body(), {"WWW-Authenticate": "Bearer"}


def serve(
    generator,
    host: str = "127.0.0.1",
    port: int = 8001,
    api_key: str | None = None,
    *,
    handler_class: type[ChatHandler] = ChatHandler,
    model_name: str | None = None,
) -> ChatServer:
    """A bound server for ``generator`` (a ``LocalGenerator``), not yet serving: call
    ``serve_forever()`` (in a thread, for tests; port 0 picks a free port, see
    ``server.base_url``), then ``shutdown()`` and ``server_close()``.

    Args:
        generator: answers the requests.
        host, port: where to listen.
        api_key: when given, requests must carry ``Authorization: Bearer <api_key>``.
        handler_class: ``ChatHandler`` or a subclass (tests inject faults this way).
        model_name: the id clients send as ``model``; default ``generator.name``.
    """
    return ChatServer((host, port), handler_class, generator, model_name or generator.name, api_key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.ml.openai_server", description=__doc__.split("\n\n")[0]
    )
    a = parser.add_argument
    a("--model", required=True, help="the policy: a folder, hub name or .gguf file")
    a("--host", default="127.0.0.1", help="address to listen on")
    a("--port", type=int, default=8001, help="port to listen on")
    a("--api-key-env", help="name of an environment variable holding the required API key")
    a("--served-model-name", help="the model id clients send (default: --model as given)")
    a("--device", help="cuda, cpu, ... (default: cuda when there is one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            print(f"error: ${args.api_key_env} is not set (--api-key-env)", file=sys.stderr)
            return 2
    generator = LocalGenerator(args.model, device=args.device)
    server = serve(generator, args.host, args.port, api_key, model_name=args.served_model_name)
    logger.info(
        "serving %s at %s%s",
        server.model_name,
        server.base_url,
        " (API key required)" if api_key else "",
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
