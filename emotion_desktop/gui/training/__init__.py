"""The Training tab: data, parameters, curves, results and the model list."""
