"""JSON request bodies carry the JSON types the OpenAPI schema names.

DRF coerces values the way HTML forms need, where everything arrives as a string: "3"
becomes 3, 3 becomes "3", "yes" becomes true. In a JSON body that coercion accepted
requests the schema calls invalid (``"summary": 0``, ``"overlap": "3"``,
``"archived": "no"``) and hid client bugs. So in a JSON body a string field takes a
string, a number field a number and a boolean field true or false; form and multipart
bodies (the file upload) keep DRF's coercion. DRF has no setting for this, hence the
small patch, installed once at start-up (``projects.apps``).

An integer field also refuses, in any body, a number no database column holds: it would
reach a query (``pk__in``, a foreign key) that SQLite answers with an OverflowError.
"""

from rest_framework import fields
from rest_framework.utils import html

from common.numbers import DB_INT_MAX


def _in_json_body(field: fields.Field) -> bool:
    data = getattr(field.root, "initial_data", None)
    return data is not None and not html.is_html_input(data)


def _number(data) -> bool:
    return isinstance(data, int | float) and not isinstance(data, bool)


# field class -> does a JSON value have the type the schema names for it
_ACCEPTS = {
    fields.CharField: lambda data: isinstance(data, str),
    fields.IntegerField: lambda data: _number(data) and float(data).is_integer(),
    fields.FloatField: _number,
    fields.BooleanField: lambda data: isinstance(data, bool),
}


def _strict(field_class, accepts):
    lenient = field_class.to_internal_value

    def to_internal_value(self, data):
        if _in_json_body(self) and not accepts(data):
            self.fail("invalid", input=data)
        return lenient(self, data)

    return to_internal_value


def _in_database_range(to_internal_value):
    def checked(self, data):
        value = to_internal_value(self, data)
        if abs(value) > DB_INT_MAX:
            self.fail(
                "max_value" if value > 0 else "min_value",
                max_value=DB_INT_MAX,
                min_value=-DB_INT_MAX,
            )
        return value

    return checked


def install() -> None:
    """Make the four scalar fields strict about JSON types, and integers stay in the
    database's range (idempotent)."""
    for field_class, accepts in _ACCEPTS.items():
        if not getattr(field_class, "_strict_json", False):
            field_class.to_internal_value = _strict(field_class, accepts)
            field_class._strict_json = True
    if not getattr(fields.IntegerField, "_database_range", False):
        fields.IntegerField.to_internal_value = _in_database_range(
            fields.IntegerField.to_internal_value
        )
        fields.IntegerField._database_range = True
