"""Tests that drive the real widgets offscreen (pytest-qt)."""
