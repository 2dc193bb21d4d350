"""Training runs: the loop, a run from folders to a saved model, ensembles, balance,
evaluation and metrics."""
