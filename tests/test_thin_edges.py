"""Thin edges (issue 20, item 6): every view and API handler parses, calls one service or
selector, and responds; reads beyond a primary-key get live in named selectors.

``benchmarks/edges.py`` measures it; this test keeps it so.
"""

from benchmarks.edges import measure

MAX_HANDLER_LINES = 25

# Modules whose inline reads are outside this change, each with its reason. The list only
# shrinks.
ORM_ALLOWED = {
    # Snapshots (training/datasets) are being moved onto the shared job model; their
    # lookup by number goes to a selector with that change.
    "training/datasets/views.py",
}


def test_no_view_or_api_handler_is_longer_than_25_lines():
    # given every handler of every views.py and api.py
    report = measure()

    # then none is longer than a parse, one call and a response need
    too_long = [
        f"{h['module']}:{h['line']} {h['name']} ({h['lines']} lines)"
        for h in report["all_handlers"]
        if h["lines"] > MAX_HANDLER_LINES
    ]
    assert report["handlers"] > 100
    assert too_long == []


def test_views_and_api_modules_query_only_through_selectors():
    # given every statement of every views.py and api.py that builds or runs a query
    report = measure()

    # then there is none beyond primary-key gets, outside the listed modules
    inline = [
        f"{o['module']}:{o['line']} {o['text']}"
        for o in report["orm_statements"]
        if o["module"] not in ORM_ALLOWED
    ]
    assert inline == []
