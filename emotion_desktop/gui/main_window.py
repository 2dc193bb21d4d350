"""The main window: Live, Batch and Training tabs, menus, status bar, remembered geometry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget

from emotion_desktop.gui.active_model import ActiveModel, test_figures
from emotion_desktop.gui.batch.tab import BatchTab
from emotion_desktop.gui.dialogs import confirm
from emotion_desktop.gui.live.tab import LiveTab
from emotion_desktop.gui.settings import setting
from emotion_desktop.gui.training.tab import TrainingTab


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.setWindowTitle("Emotion Desktop")
        self.active_model = ActiveModel(self)
        self.tabs = QTabWidget()
        self.live = LiveTab(self.active_model, self.settings)
        self.batch = BatchTab(self.active_model, self.settings)
        self.training = TrainingTab(self.active_model, self.settings)
        self.tabs.addTab(self.live, "Live")
        self.tabs.addTab(self.batch, "Batch")
        self.tabs.addTab(self.training, "Training")
        self.setCentralWidget(self.tabs)
        self._build_menus()
        self.training.live_requested.connect(self._on_training_live_requested)
        self.training.running_changed.connect(self.live.share_cores)
        self.active_model.changed.connect(self._on_active_model_changed)
        self._on_active_model_changed()
        self._restore()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, shortcut, slot in (
            ("Open &video file…", QKeySequence.StandardKey.Open, self._on_open_video_triggered),
            ("Add &folder…", QKeySequence("Ctrl+Shift+O"), self._on_add_folder_triggered),
            ("&Export results…", QKeySequence("Ctrl+E"), self._on_export_triggered),
        ):
            action = QAction(text, self, shortcut=shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for index, name in enumerate(("&Live", "&Batch", "&Training")):
            action = QAction(name, self, shortcut=QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    @Slot()
    def _on_open_video_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.live)
        self.live.open_video_dialog()

    @Slot()
    def _on_add_folder_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.batch)
        self.batch.add_folder_dialog()

    @Slot()
    def _on_export_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.batch)
        self.batch.export_dialog()

    @Slot(Path)
    def _on_training_live_requested(self, model_path: Path) -> None:
        """Make a freshly trained model active and show it on the Live tab."""
        self.active_model.set_active(model_path)
        self.tabs.setCurrentWidget(self.live)

    def play_live(self, video: Path) -> None:
        """Show the Live tab playing ``video`` as the camera (``emotion-desktop --live``)."""
        self.tabs.setCurrentWidget(self.live)
        self.live.set_video_file(video)
        self.live.start()

    @Slot()
    def _on_active_model_changed(self) -> None:
        self.statusBar().showMessage(f"Model: {self.active_model.description()}")

    def show_about(self) -> None:
        card = self.active_model.card()
        accuracy = test_figures(card) or "not measured"
        QMessageBox.about(
            self,
            "About Emotion Desktop",
            "<h3>Emotion Desktop</h3>"
            "<p>Live facial emotion recognition with a convolutional auto-encoder pre-trained CNN "
            "(Wiranata, Pranowo &amp; Santoso, 2020).</p>"
            f"<p><b>Active model:</b> {self.active_model.description()}<br>"
            f"<b>Test accuracy:</b> {accuracy} (KDEF: {card.split.protocol if card.split else '?'} "
            "split; FER+: its official test part)</p>"
            f"<p><small>{card.terms_of_use or ''}</small></p>",
        )

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        # a damaged value (text where the window's bytes were) restores nothing, never raises
        if not (isinstance(geometry, QByteArray | bytes) and self.restoreGeometry(geometry)):
            # first start: most of the screen, the Training tab needs the room
            screen = self.screen().availableGeometry()
            self.resize(min(1500, int(screen.width() * 0.9)), min(950, int(screen.height() * 0.9)))
        self.tabs.setCurrentIndex(
            setting(self.settings, "window/tab", 0, minimum=0, maximum=self.tabs.count() - 1)
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        unexported = self.batch.unexported()
        question = f"{unexported:,} labelled faces in the Batch tab were not exported. Quit anyway?"
        if unexported and not confirm(self, "Quit", question):
            self.tabs.setCurrentWidget(self.batch)  # where Export is
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/tab", self.tabs.currentIndex())
        for tab in (self.live, self.batch, self.training):
            tab.shutdown()
        self.settings.sync()
        super().closeEvent(event)
