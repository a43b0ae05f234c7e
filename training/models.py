"""Dataset snapshots, training runs and the model registry (later issues)."""
