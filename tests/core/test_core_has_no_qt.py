"""app.core must import and work with Qt and pyqtgraph absent."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules['PySide6'] = None
sys.modules['pyqtgraph'] = None
import pkgutil, importlib, app.core
for info in pkgutil.iter_modules(app.core.__path__, 'app.core.'):
    importlib.import_module(info.name)
import app.cli
print('ok')
"""


def test_core_imports_without_qt() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
