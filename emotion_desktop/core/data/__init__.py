"""Labelled face sources (KDEF, FER+, folders), their splits and prepared datasets."""
