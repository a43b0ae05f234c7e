"""Post-processing of the OpenAPI schema: what drf-spectacular cannot see from the views.

Request bodies: an endpoint that takes JSON documents only JSON. DRF's default parsers
also take forms, but a form cannot carry what the JSON bodies hold (null, numbers, nested
lists), so documenting forms promised requests that fail. The file upload keeps multipart.
Their integers carry the database's range, which ``common.api.strict_json`` enforces.

Errors: every failure is the same JSON body (``common.api.errors``), so the schema names
it once, as the ``Error`` component, and attaches it where the failure can really happen,
judged from the operation itself:

- 400 where the request carries anything to refuse: a body, a query, a text path segment
  (a NUL byte is refused in any of them, ``common.web.nul_bytes``);
- 401 and 403 wherever a sign-in is needed: no or a bad token, then a role that may not
  do this (or a session write without its CSRF token);
- 404 where a path or query names something: a project, an item, a job you cannot see;
- 409 on writes: the state changed under the request (already submitted, already
  finished, a name taken).

Answers only some operations give (503 when the job queue is down, 429 from the token
endpoint) are declared on their views with an ``OpenApiResponse``; any error status
declared without a body gets the ``Error`` body.
"""

from drf_spectacular.utils import OpenApiResponse

from common.numbers import DB_INT_MAX

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API failure: a machine-readable code and a message for a person.",
    "properties": {
        "error": {
            "type": "string",
            "description": "invalid, bad_request, not_authenticated, authentication_failed, "
            "permission_denied, not_found, conflict, throttled, unavailable, …",
        },
        "message": {"type": "string", "description": "What went wrong and what to do."},
        "fields": {
            "description": "On validation errors: the messages per field of the request.",
        },
    },
    "required": ["error", "message"],
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

DESCRIPTIONS = {
    400: "The request is invalid; the message (and `fields`) names what to change.",
    401: "No credentials, or they are wrong: send `Authorization: Token …`.",
    403: "Signed in, but your role in the project does not allow this.",
    404: "Not found, or not visible to you.",
    409: "The state does not allow this now (already done, taken or finished).",
    429: "Too many requests; wait and try again.",
    503: "A service this needs (the job queue, a worker's files) is unavailable; try later.",
}
WRITES = {"post", "put", "patch", "delete"}


def _needs_sign_in(operation: dict) -> bool:
    security = operation.get("security")
    return bool(security) and {} not in security


def _refusable(parameter: dict) -> bool:
    # A NUL byte in an integer path segment matches no route: that is a 404, not a 400.
    return parameter["in"] != "path" or parameter.get("schema", {}).get("type") == "string"


def _codes(method: str, operation: dict) -> set[int]:
    parameters = operation.get("parameters", [])
    places = {parameter["in"] for parameter in parameters}
    codes = set()
    if "requestBody" in operation or any(_refusable(p) for p in parameters):
        codes.add(400)
    if _needs_sign_in(operation):
        codes |= {401, 403}
        if method in WRITES:
            codes.add(409)
    if places & {"path", "query"}:
        codes.add(404)
    return codes


def _error_response(status: int, description: str = "") -> dict:
    return {
        "description": description or DESCRIPTIONS.get(status, "The request failed."),
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def _one_body_type(operation: dict) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    for preferred in ("application/json", "multipart/form-data"):
        if preferred in content:
            operation["requestBody"]["content"] = {preferred: content[preferred]}
            return


def _bound_integers(node) -> None:
    """Request integers stay in the database's range (common.api.strict_json refuses others)."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("maximum", DB_INT_MAX)
            node.setdefault("minimum", -DB_INT_MAX)
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


def document_api(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: one body type per operation, and the
    ``Error`` component with the error answers each operation can give."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        if name.endswith("Request"):
            _bound_integers(component)
    schemas["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            _one_body_type(operation)
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400 and "content" not in response:
                    description = response.get("description", "")
                    if description == "No response body":
                        description = ""
                    responses[status] = _error_response(int(status), description)
            for status in sorted(_codes(method, operation)):
                responses.setdefault(str(status), _error_response(status))
    return result


# For views whose work goes through the job queue (common.jobs.job_enqueue).
JOB_QUEUE_DOWN = OpenApiResponse(
    description="The job queue is unreachable: the job was marked failed with the reason; "
    "start it again once the queue is back."
)
