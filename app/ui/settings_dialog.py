"""Runtime settings: the backend llama.cpp runs on, GPU layers, flash attention, threads,
context size. Applying them reloads the model."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from app.core.llama.llama_runtime import BackendInfo
from app.core.settings import RuntimeSettings
from app.core.units import format_bytes
from app.ui.rpc_workers_panel import RpcWorkersPanel

CONTEXT_SIZES = (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)


def describe_backend(backend: BackendInfo | None) -> str:
    if backend is None:
        return "not detected yet (no model loaded)"
    lines = [
        f"{backend.backend} build, GPU offload "
        + ("supported" if backend.gpu_offload else "not supported")
    ]
    for device in backend.devices:
        memory = (
            f" · {format_bytes(device.memory_total)} ({format_bytes(device.memory_free)} free)"
            if device.memory_total
            else ""
        )
        lines.append(f"{device.kind}: {device.description or device.name}{memory}")
    return "\n".join(lines)


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: RuntimeSettings,
        backend: BackendInfo | None,
        layers: int,
        cores: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._layers = max(1, layers + 1)  # llama.cpp counts the output layer too
        offload = backend is not None and backend.gpu_offload
        self._offload = offload
        self._initial_layers = settings.gpu_layers
        form = QFormLayout(self)
        self.backend_label = QLabel(describe_backend(backend))
        self.backend_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Backend", self.backend_label)

        self.gpu_slider = QSlider(Qt.Orientation.Horizontal)
        self.gpu_slider.setRange(0, self._layers)
        layers_value = self._layers if settings.gpu_layers is None else settings.gpu_layers
        self.gpu_slider.setValue(min(layers_value, self._layers) if offload else 0)
        self.gpu_slider.setEnabled(offload)
        self.gpu_value = QLabel("")
        self.gpu_slider.valueChanged.connect(self._show_layers)
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu_slider, 1)
        gpu_row.addWidget(self.gpu_value)
        gpu_widget = QWidget()
        gpu_widget.setLayout(gpu_row)
        gpu_row.setContentsMargins(0, 0, 0, 0)
        form.addRow("GPU layers", gpu_widget)
        if not offload:
            form.addRow(
                "",
                QLabel(
                    "This llama.cpp build runs on the CPU. Reinstall with "
                    'CMAKE_ARGS="-DGGML_CUDA=on" (NVIDIA) to offload;\n'
                    "Apple silicon builds use Metal by default."
                ),
            )
        self._show_layers(self.gpu_slider.value())

        self.flash = QCheckBox("Flash attention")
        self.flash.setChecked(settings.flash_attn)
        self.flash.setToolTip(
            "On: streams decoded together in Compare give exactly the same numbers as alone"
        )
        form.addRow("Attention", self.flash)

        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText(f"Auto ({cores} physical cores)")
        self.threads.setValue(settings.threads or 0)
        form.addRow("CPU threads", self.threads)

        self.context = QComboBox()
        for size in CONTEXT_SIZES:
            self.context.addItem(f"{size:,} tokens", size)
        index = self.context.findData(settings.n_ctx)
        if index < 0:
            self.context.addItem(f"{settings.n_ctx:,} tokens", settings.n_ctx)
            index = self.context.count() - 1
        self.context.setCurrentIndex(index)
        form.addRow("Context size", self.context)

        self.repack = QCheckBox("Weight repacking")
        self.repack.setChecked(settings.repack)
        self.repack.setToolTip(
            "llama.cpp's CPU weight repacking: faster on this CPU; off gives the numbers "
            "RPC workers give (their kernels do not repack)"
        )
        form.addRow("CPU kernels", self.repack)
        self.rpc = RpcWorkersPanel(settings.rpc_workers)
        form.addRow("RPC workers", self.rpc)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Cancel
        )
        apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        apply_button.setText("Apply and reload model")
        apply_button.clicked.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _show_layers(self, value: int) -> None:
        if not self._offload:
            self.gpu_value.setText("CPU only")
        elif value >= self._layers:
            self.gpu_value.setText(f"all {self._layers}")
        else:
            self.gpu_value.setText(f"{value} of {self._layers}")

    def settings(self) -> RuntimeSettings:
        layers = self.gpu_slider.value()
        chosen = None if layers >= self._layers else layers
        return RuntimeSettings(
            gpu_layers=chosen if self._offload else self._initial_layers,
            flash_attn=self.flash.isChecked(),
            threads=self.threads.value() or None,
            n_ctx=int(self.context.currentData()),
            repack=self.repack.isChecked(),
            rpc_workers=self.rpc.workers,
        ).validated()
