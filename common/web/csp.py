"""A Content-Security-Policy on every response: scripts and styles from this site only.

The pages load vendored scripts (htmx, static/js) and one stylesheet; no inline script,
no eval (htmx's is switched off in base.html), no inline <style>. So text that slips
past escaping into a page cannot run, nor load anything from elsewhere.

Style *attributes* stay allowed (``style-src-attr``): label colours are per element
(``--tag: #hex``), and an attribute can neither run script nor fetch from another site
(``img-src 'self'``). The API docs page (vendored Swagger UI) ships its own inline
<style>, so that one page also allows inline styles; its script is a separate file.
"""

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
API_DOCS_PATH = "/api/v1/docs/"


def _header(policy: dict[str, str]) -> str:
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


POLICY = _header(STRICT)
API_DOCS_POLICY = _header({**STRICT, "style-src": "'self' 'unsafe-inline'"})


class ContentSecurityPolicyMiddleware:
    """Set the policy on every response that does not carry its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = API_DOCS_POLICY if request.path_info == API_DOCS_PATH else POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response
