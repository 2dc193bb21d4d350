"""Everything that works without Qt: model, data, detection, training, inference, storage.

Nothing below this package may import PySide6 or pyqtgraph; an import-linter contract in
pyproject.toml enforces it, so the CLI, tests and a GPU server can use it headless.
"""
