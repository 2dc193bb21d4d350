"""Tests of everything that works without Qt: the core and the command line."""
