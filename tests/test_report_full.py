"""Build the whole study report into a temporary folder, as ``iaxsim report --out DIR`` does.

Every notebook of ``notebooks/`` must execute without an error, get its own HTML page with its
figures embedded as images, and be linked from ``index.html`` under its title.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from iaxsim.report import build_report
from iaxsim.report.build import notebook_title

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STUDY = ["01_quickstart", "02_overlap_and_lookup_cost", "03_capacity", "04_firewalls_and_addresses",
         "05_numbering_plan_explorer", "06_protocol_tour", "07_linked_or_switch",
         "08_is_the_simulator_right", "09_explorer"]


def test_the_study_notebooks_are_there() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == STUDY


def _snapshot(folder: Path) -> dict[str, int] | None:
    """Every file under ``folder`` with its modification time, or None when there is no folder."""
    if not folder.is_dir():
        return None
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.slow
def test_full_report_pages_figures_and_no_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IAXSIM_REPORT_DIR", raising=False)
    before = {folder: _snapshot(folder) for folder in (ROOT / "reports", NOTEBOOKS)}
    out = tmp_path / "reports"
    index = build_report(NOTEBOOKS, out, progress=False)
    assert index == out / "index.html"
    # files the notebooks write go to --out, beside the pages; the repository is left as it was
    pcap = out / "06_seed_calls.pcap"
    assert pcap.is_file() and pcap.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")  # libpcap, µs, LE
    assert {folder: _snapshot(folder) for folder in before} == before
    index_html = index.read_text(encoding="utf-8")
    for stem in STUDY:
        page = out / f"{stem}.html"
        assert page.is_file(), f"{page.name} was not written"
        assert f'href="{stem}.html"' in index_html
        title = notebook_title(nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4))
        assert title and title.split("·")[-1].strip()[:20] in index_html
        html = page.read_text(encoding="utf-8")
        figures = re.findall(r'<img[^>]+src="data:image/png;base64,', html)
        assert figures, f"{page.name} has no embedded figure"
        # stderr streams (warnings included) and error outputs are rendered as this element
        stderr = re.findall(r'<div[^>]*data-mime-type="application/vnd\.jupyter\.(?:stderr|error)"', html)
        assert not stderr, f"{page.name} has {len(stderr)} output(s) on stderr or errors"
        assert "Traceback (most recent call last)" not in html, f"{page.name} shows a traceback"
        # figures are images inside the page, never files next to it
        assert not re.search(r'<img[^>]+src="(?!data:)', html)


def test_notebooks_are_thin_and_committed_executed() -> None:
    """Notebooks call the package: no classes, only short glue functions, imports from the package,
    the standard library and the plotting/data stack; every code cell stored with its outputs run."""
    import ast

    allowed = {"iaxsim", "pandas", "numpy", "matplotlib", "pathlib", "tempfile", "asyncio", "sys", "re", "warnings",
               "ipywidgets"}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, f"{path.name} has no code"
        assert all(c.execution_count is not None for c in code), f"{path.name} is not stored executed"
        tree = ast.parse("\n".join(c.source for c in code))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.ClassDef), f"{path.name} defines class {node.name}"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 12, f"{path.name}: function {node.name} is {length} lines; move it to the package"
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(names) <= allowed, f"{path.name} imports {names}"
