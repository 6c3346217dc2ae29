"""matplotlib and fpdf are loaded when a report draws a chart or makes a PDF, not when the bot
starts: together they were a third of the start-up's imports and memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Imports everything the bot's process imports to start (the composition root, every handler,
# service and schedule), then says which of the heavy libraries are loaded.
PROBE = """
import sys
import composition
import services.reports.charts, services.reports.files, services.evidence
print(sorted(name for name in ("matplotlib", "fpdf") if name in sys.modules))
"""

# Draws a chart and a PDF through the report's own functions: the lazy imports do load them.
DRAW = """
import sys
from services.reports import charts, files
figure = charts._figure()
figure.add_subplot().yaxis.set_major_locator(charts._integer_ticks())
assert charts._png(figure).startswith(charts.PNG_SIGNATURE)
print(sorted(name for name in ("matplotlib", "fpdf") if name in sys.modules))
"""


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_starting_the_bot_loads_neither_matplotlib_nor_fpdf() -> None:
    assert _run(PROBE) == "[]"


def test_drawing_a_chart_loads_matplotlib_when_it_is_needed() -> None:
    assert _run(DRAW) == "['matplotlib']"
