"""The batches page's per-batch access form: ``{% load batches %}``, then
``{% with form=batch|restriction_form %}``; a filter, so the view stays a plain listing."""

from django import template

from annotation.importing.forms import BatchRestrictionForm

register = template.Library()


@register.filter
def restriction_form(batch) -> BatchRestrictionForm:
    return BatchRestrictionForm.for_batch(batch)
