"""An EXISTS that stays a per-row index probe whatever the table statistics say.

The claim queries walk candidate items in priority order and drop the ones the user
already had. Written as a plain EXISTS, PostgreSQL pulls it up into an anti join and
picks that join's plan from table statistics; with stale ones (autovacuum off, as on CI,
or behind on a project that just grew) it chose a full index scan of assignments for
every candidate: 13 s per claim on 2,000 items. ``OFFSET 0`` keeps PostgreSQL from
pulling the sub-select up (it leaves sub-selects with an OFFSET alone), so each candidate
costs one probe of the (item, user) unique index; SQLite accepts the same SQL.
"""

from django.db.models import Exists


class ProbeExists(Exists):
    template = "EXISTS(%(subquery)s OFFSET 0)"
