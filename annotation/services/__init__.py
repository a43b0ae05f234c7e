"""State changes for annotation: claiming, submitting, skipping, importing."""
