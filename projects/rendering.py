"""Markdown to safe HTML for guidelines, prompts and responses.

markdown-it-py parses CommonMark with raw HTML disabled, and nh3 (ammonia) then
sanitizes the result against an allow-list, so neither a `<script>` nor an
`onerror=` attribute in user text can ever reach the page as live markup.
Images are not allowed at all: a remote one would tell its server who reads the
page, and a relative one would make every reader's browser request our own URLs.
"""

from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a", "span",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "html": False renders raw HTML in the source as text; linkify stays off (no extra dep).
    return (
        MarkdownIt("commonmark", {"html": False, "breaks": True})
        .enable("table")
        .enable("strikethrough")
    )


def render_markdown(text: str) -> SafeString:
    """Render user markdown to sanitized HTML, safe to insert into a page."""
    html = _parser().render(text or "")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 just above
