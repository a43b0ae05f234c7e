"""Template helpers: safe markdown, small counting loops, request tokens."""

import uuid

from django import template

from projects.rendering import render_markdown

register = template.Library()


@register.filter
def markdown(text: str):
    """Render user markdown as sanitized HTML."""
    return render_markdown(text)


@register.filter
def upto(count: int) -> range:
    """``{% for n in k|upto %}`` iterates 1..k."""
    return range(1, int(count) + 1)


@register.filter
def lookup(mapping, key):
    """``{{ ranks|lookup:response.id }}``: a dict value by a variable key (None if absent)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag
def client_token() -> str:
    """A fresh idempotency token for a form that creates something: resubmitting the same
    rendered form repeats it (one object), two forms or tabs never share it."""
    return uuid.uuid4().hex
