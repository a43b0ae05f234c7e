"""Read import files (JSON Lines or CSV) into validated rows; pure Python, no Django.

The service layer (annotation.importing.services) stores what this package yields.
"""

from annotation.importing.fields import MAX_TEXT_CHARS
from annotation.importing.parse import detect_format, iter_import_rows
from annotation.importing.rows import ImportedResponse, ImportRow, RowError
from annotation.importing.validate import stable_id, validate_row

__all__ = [
    "MAX_TEXT_CHARS",
    "ImportRow",
    "ImportedResponse",
    "RowError",
    "detect_format",
    "iter_import_rows",
    "stable_id",
    "validate_row",
]
