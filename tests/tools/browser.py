"""Pages as a person sees them: opened from disk in headless Chromium (Debian's ``chromium``).

:func:`open_in_browser` loads a copy of the page with a probe script appended (the pages carry
no script of their own) that records, after the load event, how many images the page has, how
many failed to decode (``naturalWidth == 0``) and any script error; ``--dump-dom`` prints the
DOM with those marks. It also takes a screenshot, which :func:`distinct_colours` measures (a
blank or error page has a handful). Without Chromium a test skips locally and fails in CI.
Used by the runtime's report and card tests and by the generated project's monitor loop.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from tests.tools import require

__all__ = ["chromium", "distinct_colours", "open_in_browser"]

PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message)));
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  document.body.setAttribute("data-probe",
    `images=${images.length} broken=${broken} errors=${window.__errors.length}`);
});
</script>"""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1280,2000",
]


def chromium() -> str:
    """Chromium's path; skips (locally) or fails (CI) without it."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return require(found, "chromium", "apt-get update && apt-get install -y chromium")


def open_in_browser(page: Path, tmp_path: Path) -> tuple[str, Path]:
    """The probe's marks after load (``images=N broken=N errors=N``), and a screenshot."""
    browser = chromium()
    probed = page.with_name(page.stem + ".probe.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    profile = tmp_path / f"chromium-{page.stem}"
    base = [browser, *FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(
        [*base, "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    marks = re.search(r'data-probe="([^"]*)"', dom.stdout)
    assert marks, f"the probe did not run: {dom.stdout[:300]} {dom.stderr[-500:]}"
    shot = tmp_path / f"{page.stem}.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.is_file()
    return marks.group(1), shot


def distinct_colours(png: Path) -> int:
    """How many distinct colours a screenshot has (sampled): plots have many."""
    from matplotlib.image import imread

    pixels = (imread(png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(pixels[:: max(1, len(pixels) // 200_000)], axis=0))
