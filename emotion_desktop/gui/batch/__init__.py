"""The Batch tab: drop zone, runs, the results table."""
