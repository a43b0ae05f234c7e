"""News from the annotation core to the layers above it (quality, the loop), as signals.

A submit changes an item's agreement figures (quality's) and the queue's priorities (the
loop's); new items want pre-ranking. The core sits below both and must not import them,
so its services send these signals and each layer connects its receivers in its app's
``ready()``. Receivers run in the sender's transaction, in the order the apps are
installed (quality before the loop), exactly where the calls used to be.
"""

from django.dispatch import Signal

# Sent by annotation_submit once the annotation is stored and counted.
# Arguments: project, item_id, user_id.
annotation_submitted = Signal()

# Sent by annotation_revise once the revised annotation and its tags are stored.
# Arguments: project_id, item_id.
annotation_revised = Signal()

# Sent when a project gains items (an import, a prompt that got all its responses).
# Arguments: project_id.
items_added = Signal()
