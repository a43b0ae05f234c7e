"""Template helpers for file paths: a table cell shows a model's file name, not the
virtualenv-deep path to it (that goes in a ``title`` for whoever needs it)."""

from pathlib import PurePosixPath

from django import template

register = template.Library()


@register.filter
def file_name(path: str) -> str:
    """``{{ "/a/b/model.gguf"|file_name }}`` is ``model.gguf``; a trailing slash (a model
    directory) is ignored, so ``/models/qwen/`` is ``qwen``."""
    return PurePosixPath(str(path or "")).name or str(path or "")
