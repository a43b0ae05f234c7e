"""The claim as one PostgreSQL statement: renew the live lease or lease a new item, and
read what the annotator is shown, in a single round trip.

Written by hand because the ORM cannot say it: the renewal, the candidate locked with
``SKIP LOCKED``, the slot taken and the lease inserted are data-modifying CTEs of one
``WITH``, and compiling the six ORM queries they replace cost more CPU than PostgreSQL
spends running this one (``benchmarks/request_profile.py``). It must mean exactly what
``claiming.claim_locked`` means for a claim that serves no gold item and no suggestion;
``tests/annotation/test_claim_concurrency.py`` runs both side by side under load.

The caller holds the user's membership row locked (``FOR NO KEY UPDATE``), so this
statement's snapshot, taken after that lock, sees every lease the user's other requests
committed: one claim per user at a time, as on the ORM path.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from annotation.models import Assignment
from common.db_prepared import prepared_cursor

# Named parameters: user, project, now, lease_end, exclude (bigint[]), max_leases.
CLAIM_SQL = """
WITH held AS (
    SELECT id, claimed_at FROM annotation_assignment
    WHERE user_id = %(user)s AND project_id = %(project)s
      AND state = 'active' AND lease_expires_at > %(now)s
    FOR UPDATE
),
renewed AS (
    UPDATE annotation_assignment a SET lease_expires_at = %(lease_end)s
    FROM (
        SELECT id FROM held WHERE NOT (id = ANY(%(exclude)s::bigint[]))
        ORDER BY claimed_at, id LIMIT 1
    ) live
    WHERE a.id = live.id
    RETURNING a.id, a.item_id, a.state, a.claimed_at, a.lease_expires_at, a.display_order,
              a.suggestion
),
candidate AS (
    SELECT i.id FROM annotation_item i
    WHERE NOT EXISTS (SELECT 1 FROM renewed)
      AND (SELECT count(*) FROM held) < %(max_leases)s
      AND i.project_id = %(project)s AND i.open_slots > 0 AND NOT i.is_gold
      AND (NOT i.restricted OR i.batch_id IN (
          SELECT b.id FROM annotation_batch b
          LEFT JOIN annotation_batch_allowed_users bu ON bu.batch_id = b.id
          LEFT JOIN annotation_batch_allowed_groups bg ON bg.batch_id = b.id
          LEFT JOIN projects_annotatorgroup_members gm
                 ON gm.annotatorgroup_id = bg.annotatorgroup_id
          WHERE b.project_id = %(project)s AND b.restricted
            AND (bu.user_id = %(user)s OR gm.user_id = %(user)s)))
      -- OFFSET 0 keeps this a per-row probe of the (item, user) index (index_probe.py).
      AND NOT EXISTS (
          SELECT 1 FROM annotation_assignment x
          WHERE x.item_id = i.id AND x.user_id = %(user)s OFFSET 0)
    ORDER BY i.priority DESC, i.id
    LIMIT 1
    FOR UPDATE OF i SKIP LOCKED
),
taken AS (
    UPDATE annotation_item i SET open_slots = i.open_slots - 1
    FROM candidate c WHERE i.id = c.id
    RETURNING i.id
),
leased AS (
    INSERT INTO annotation_assignment (
        item_id, user_id, project_id, state, claimed_at, lease_expires_at, finished_at,
        display_order, suggestion, skip_reason)
    SELECT t.id, %(user)s, %(project)s, 'active', %(now)s, %(lease_end)s, NULL,
           -- The annotator's own order of the responses, fixed for this lease.
           (SELECT jsonb_agg(r.response_id ORDER BY random())
              FROM annotation_itemresponse r WHERE r.item_id = t.id),
           NULL, ''
    FROM taken t
    RETURNING id, item_id, state, claimed_at, lease_expires_at, display_order, suggestion
),
chosen AS (SELECT * FROM renewed UNION ALL SELECT * FROM leased)
SELECT c.id, c.item_id, c.state, c.claimed_at, c.lease_expires_at,
       c.display_order::text, c.suggestion::text,
       (SELECT p.messages::text FROM annotation_response r
          JOIN annotation_prompt p ON p.id = r.prompt_id
         WHERE r.id = (c.display_order ->> 0)::bigint),
       (SELECT jsonb_object_agg(r.id, r.text)::text FROM annotation_response r
         WHERE r.id IN (SELECT value::bigint FROM jsonb_array_elements_text(c.display_order)))
FROM chosen c
"""


@dataclass(frozen=True)
class Claimed:
    """A lease as the statement returns it, with the prompt and response texts."""

    assignment: Assignment
    messages: list[dict]
    texts: dict[int, str]


def _loaded(value: str | None):
    return None if value is None else json.loads(value)


def claim_run(
    *,
    user_id: int,
    project_id: int,
    now: datetime,
    lease_end: datetime,
    exclude_ids: tuple[int, ...],
    max_leases: int,
) -> Claimed | None:
    """Run the claim statement inside the caller's transaction; None: nothing to lease."""
    params = {
        "user": user_id,
        "project": project_id,
        "now": now,
        "lease_end": lease_end,
        "exclude": list(exclude_ids),
        "max_leases": max_leases,
    }
    with prepared_cursor() as cursor:
        cursor.execute(CLAIM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, item_id, state, claimed_at, lease_expires_at, order, suggestion, messages, texts = row
    assignment = Assignment(
        pk=pk,
        item_id=item_id,
        user_id=user_id,
        project_id=project_id,
        state=state,
        claimed_at=claimed_at,
        lease_expires_at=lease_expires_at,
        display_order=_loaded(order),
        suggestion=_loaded(suggestion),
    )
    assignment._state.adding = False
    assignment._state.db = "default"
    return Claimed(
        assignment=assignment,
        messages=_loaded(messages) or [],
        texts={int(rid): text for rid, text in (_loaded(texts) or {}).items()},
    )
