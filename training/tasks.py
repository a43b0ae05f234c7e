"""Training tasks (queue ``gpu``) arrive with the training-run issue."""
