"""Reading a list to match: file checks through the import layer, columns, biographies, row hints."""

from .bio import Education, Vocabulary, parse_bio
from .columns import Columns, recognise_columns
from .reader import ListFile, ListRefused, open_list
from .rows import Defaults, ListRow, build_row, kind_of, latin_keys

__all__ = [
    "Columns",
    "Defaults",
    "Education",
    "ListFile",
    "ListRefused",
    "ListRow",
    "Vocabulary",
    "build_row",
    "kind_of",
    "latin_keys",
    "open_list",
    "parse_bio",
    "recognise_columns",
]
