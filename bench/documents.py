"""What issuing a document costs: laying it out with the embedded font, and how big the PDF is.

Prints medians over a few rounds: reading the full font faces (10 MB each) against the common-
character faces ``make setup`` writes, and for each shipped template rendered on sample data the
time to a finished PDF, its size, and that time over what reading the full faces alone costs.

    python -m bench.documents [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from fpdf import FPDF

from engine.records.templates import render_template
from processes.documents.context import sample_context
from processes.documents.font_faces import common_face_of
from processes.documents.issuing import templates_folder
from processes.documents.pdf import BOLD, FAMILY, REGULAR, html_to_pdf
from web.documents import pdf_font

SAMPLE = {
    "customer_name": "上海申江第一人民医院",
    "customer_address": "上海市浦东新区张江路 88 号",
    "product_model": "PM-9000 多参数监护仪",
    "serial_number": "SN-2026-0815",
    "fault_description": "开机后屏幕间歇性黑屏，报警音正常。" * 3,
    "work_done": "更换电源板，老化测试 4 小时正常。",
    "complaint_text": "返修后的监护仪仍间歇性黑屏",
    "approved_disposition": "更换整机，并延长保修一年。",
}


def _font_load_seconds(regular: Path, bold: Path) -> float:
    began = time.perf_counter()
    pdf = FPDF()
    pdf.add_font(FAMILY, "", str(regular))
    pdf.add_font(FAMILY, "B", str(bold))
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    font = pdf_font()
    font.check()
    regular, bold = font.folder / REGULAR, font.folder / BOLD
    load = statistics.median(_font_load_seconds(regular, bold) for _ in range(args.rounds))
    common = statistics.median(
        _font_load_seconds(common_face_of(regular), common_face_of(bold)) for _ in range(args.rounds)
    )
    print(f"afterflow documents — {args.rounds} rounds (medians)")
    print(
        f"reading the full faces {load:.2f} s, the common-character faces {common:.2f} s ({load / common:.1f}×)"
    )
    print(f"{'template':<24}{'total s':>9}{'KB':>8}{'total/full read':>17}")
    for path in sorted(templates_folder().glob("*.html")):
        context = {**sample_context(), "data": SAMPLE}
        html = render_template(path.read_text(encoding="utf-8"), context)
        times = []
        size = 0
        for _ in range(args.rounds):
            began = time.perf_counter()
            size = len(html_to_pdf(html, font, path.stem, "bench"))
            times.append(time.perf_counter() - began)
        total = statistics.median(times)
        print(f"{path.stem:<24}{total:>9.2f}{size / 1024:>8.1f}{total / load:>17.2f}")


if __name__ == "__main__":
    main()
