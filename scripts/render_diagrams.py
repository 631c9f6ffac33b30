"""Render every diagram in diagrams/ to docs/diagrams/<file>.png with bpmn-js in headless chromium.

Run: .venv/bin/python scripts/render_diagrams.py   (needs /usr/bin/chromium and `npm install`)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "web" / "static" / "vendor"
OUT = ROOT / "docs" / "diagrams"

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>{css}</style><style>html,body{{margin:0;background:#fff}} #canvas{{width:{width}px;height:{height}px}}</style>
</head><body><div id="canvas"></div><script>{js}</script></body></html>"""


def render(paths: list[Path]) -> None:
    """Write one PNG per BPMN file."""
    js = (VENDOR / "bpmn-viewer.production.min.js").read_text()
    css = (VENDOR / "diagram-js.css").read_text() + (VENDOR / "bpmn-js.css").read_text()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for path in paths:
            page = browser.new_page(viewport={"width": 800, "height": 600}, device_scale_factor=1)
            page.set_content(PAGE.format(css=css, js=js, width=800, height=600))
            size = page.evaluate(
                """async (xml) => {
                    const viewer = new BpmnJS({container: '#canvas'});
                    const result = await viewer.importXML(xml);
                    const inner = viewer.get('canvas').viewbox().inner;
                    window.__viewer = viewer;
                    return {width: inner.width, height: inner.height, warnings: result.warnings.map(w => w.message)};
                }""",
                path.read_text(),
            )
            # Lay the page out at the diagram's own size so labels stay legible.
            width, height = int(size["width"]) + 60, int(size["height"]) + 60
            page.set_viewport_size({"width": width, "height": height})
            page.evaluate(
                """([w, h]) => {
                    const el = document.getElementById('canvas');
                    el.style.width = w + 'px'; el.style.height = h + 'px';
                    const canvas = window.__viewer.get('canvas');
                    canvas.resized(); canvas.zoom('fit-viewport', 'auto');
                }""",
                [width, height],
            )
            target = OUT / f"{path.stem}.png"
            page.locator("#canvas").screenshot(path=str(target))
            print(f"{target.relative_to(ROOT)} ({json.dumps(size)})")
            page.close()
        browser.close()


if __name__ == "__main__":
    files = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "diagrams").glob("*.bpmn"))
    render(files)
