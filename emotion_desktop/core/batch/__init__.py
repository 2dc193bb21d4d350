"""Labelling photos in bulk, and the results files."""
