"""Forms that say how their fields group, so a template can render any of them the same way.

A form lists ``fieldsets``; ``templates/partials/form_fields.html`` renders each as a
``<fieldset>`` with its legend. A fieldset with ``show_when`` applies only to some choices of
another field: ``static/js/show_when.js`` hides it while the choice does not match, and
without JS it stays shown (the server validates every field as before).
"""

from dataclasses import dataclass, field

from django.forms import BoundField


@dataclass(frozen=True)
class Fieldset:
    legend: str
    fields: tuple[str, ...]
    # "<field>=<value>[,<value>...]": shown only while that control has one of the values;
    # a checkbox's value is "on" when ticked. Empty: always shown.
    show_when: str = ""
    help: str = ""


@dataclass
class BoundFieldset:
    legend: str
    fields: list[BoundField] = field(default_factory=list)
    show_when: str = ""
    help: str = ""


class FieldsetsMixin:
    """Give a Django form ``fieldsets``; fields it leaves out land in a last "More" group."""

    fieldsets: tuple[Fieldset, ...] = ()

    def grouped_fields(self) -> list[BoundFieldset]:
        groups, listed = [], set()
        for fieldset in self.fieldsets:
            names = [name for name in fieldset.fields if name in self.fields]
            listed.update(names)
            if names:
                bound = [self[name] for name in names]
                groups.append(
                    BoundFieldset(fieldset.legend, bound, fieldset.show_when, fieldset.help)
                )
        rest = [bound for bound in self.visible_fields() if bound.name not in listed]
        if rest:
            groups.append(BoundFieldset("More" if groups else "", rest))
        return groups
