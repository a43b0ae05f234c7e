"""Invariants a level must leave behind, checked with plain SQL against the database."""

from dataclasses import dataclass

from django.db import connection

# Items holding more submitted + live assignments than the project's overlap allows.
OVERFILLED = """
SELECT count(*) FROM (
    SELECT a.item_id
    FROM annotation_assignment a JOIN projects_project p ON p.id = a.project_id
    WHERE a.project_id = %s AND a.state IN ('submitted', 'active')
    GROUP BY a.item_id, p.overlap
    HAVING count(*) > p.overlap
) overfilled
"""
# The same item leased to the same annotator twice.
DUPLICATES = """
SELECT count(*) FROM (
    SELECT item_id, user_id FROM annotation_assignment WHERE project_id = %s
    GROUP BY item_id, user_id HAVING count(*) > 1
) duplicates
"""
ANNOTATIONS = "SELECT count(*) FROM annotation_annotation WHERE project_id = %s"
# The claim index trusts these counters: open_slots = overlap - submitted - live leases.
COUNTERS_OFF = """
SELECT count(*) FROM annotation_item i
JOIN projects_project p ON p.id = i.project_id
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE state = 'submitted') AS submitted,
           count(*) FILTER (WHERE state = 'active') AS active
    FROM annotation_assignment a WHERE a.item_id = i.id
) s ON true
WHERE i.project_id = %s
  AND (i.submitted_count <> s.submitted OR i.open_slots <> p.overlap - s.submitted - s.active)
"""
OPEN_SLOTS = "SELECT coalesce(sum(open_slots), 0) FROM annotation_item WHERE project_id = %s"


@dataclass(frozen=True)
class LevelChecks:
    overfilled_items: int
    duplicate_assignments: int
    annotations: int  # rows in the database
    successful_submits: int  # 201 answers the load generator saw
    counters_off: int
    open_slots_left: int

    @property
    def passed(self) -> bool:
        return (
            self.overfilled_items == 0
            and self.duplicate_assignments == 0
            and self.annotations == self.successful_submits
            and self.counters_off == 0
        )


def _count(query: str, project_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query, [project_id])
        return cursor.fetchone()[0]


def level_check(*, project_id: int, successful_submits: int) -> LevelChecks:
    return LevelChecks(
        overfilled_items=_count(OVERFILLED, project_id),
        duplicate_assignments=_count(DUPLICATES, project_id),
        annotations=_count(ANNOTATIONS, project_id),
        successful_submits=successful_submits,
        counters_off=_count(COUNTERS_OFF, project_id),
        open_slots_left=_count(OPEN_SLOTS, project_id),
    )
