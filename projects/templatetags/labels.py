"""Template filters for human words (common/labels.py): ``{% load labels %}``."""

from django import template

from common import labels

register = template.Library()

register.filter("option_label", labels.option_label)
register.filter("human", labels.human)
register.filter("option_rows", labels.option_rows)
register.filter("worker_name", labels.worker_name)
register.filter("plain_log", labels.plain_log)
register.filter("run_log", labels.run_log)
