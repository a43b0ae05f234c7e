"""News from projects to the layers above them, as Django signals.

A settings change has effects that belong to higher layers (annotation resizes leases
when the overlap changes, the loop re-ranks when the reward model changes). Projects
sit below those layers and must not import them, so ``project_update`` announces what
changed and each layer connects its own receiver in its app's ``ready()``. Receivers run
in the caller's transaction, in the order the apps are installed.
"""

from django.dispatch import Signal

# Sent by project_update after the row is saved, inside its transaction.
# Arguments: project (the saved Project), before (a dict of the changed settings' old
# values, by field name).
project_settings_changed = Signal()
