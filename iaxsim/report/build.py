"""Execute the study notebooks and export them as a linked set of HTML pages."""
from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from iaxsim.errors import IaxsimError
from iaxsim.report.output import OUTPUT_ENV

if TYPE_CHECKING:
    from nbformat import NotebookNode


class NotebookFailed(IaxsimError):
    """A notebook cell raised while building the report."""

    def __init__(self, notebook: Path, cell_index: int, detail: str):
        self.notebook = notebook
        self.cell_index = cell_index
        super().__init__(f"{notebook.name}: cell {cell_index} failed: {detail}")


@dataclass(frozen=True)
class ReportPage:
    """One exported notebook: its source, its HTML page and its title."""

    notebook: Path
    page: Path
    title: str


def notebook_title(nb: NotebookNode) -> str:
    """The first Markdown heading of a notebook, or its file name."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def run_notebook(nb: NotebookNode, cwd: Path, timeout: int, env: dict[str, str] | None = None) -> None:
    """Execute every cell of ``nb`` in place, in a fresh ``python3`` kernel working in ``cwd``
    (``env``: the kernel's environment). A failing cell raises nbclient's CellExecutionError.

    On POSIX systems the kernel talks to us over local (IPC) sockets, in a private temporary
    folder, rather than TCP ports on loopback: nothing listens on the network, and the kernel
    prints no warning about unencrypted TCP into the planner's terminal."""
    from nbclient import NotebookClient
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="iaxsim-kernel-") as sockets:
        config = Config()
        if os.name == "posix":
            # an absolute path: the kernel runs in ``cwd``, we do not
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = os.path.join(sockets, "ipc")
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=config,
                                resources={"metadata": {"path": str(cwd)}})
        client.execute(**({} if env is None else {"env": env}))


def execute_notebook(path: Path, timeout: int = 600, out_dir: Path | None = None) -> NotebookNode:
    """Run every cell of a notebook in a fresh kernel (cwd = its folder); return the executed notebook.

    With ``out_dir`` the kernel's ``IAXSIM_REPORT_DIR`` names it (made absolute), so the files the
    notebook writes through :func:`iaxsim.report.output_dir` land there.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    env = None if out_dir is None else {**os.environ, OUTPUT_ENV: str(Path(out_dir).resolve())}
    try:
        run_notebook(nb, path.parent, timeout, env)
    except CellExecutionError as err:
        index = next((i for i, c in enumerate(nb.cells)
                      if any(o.get("output_type") == "error" for o in c.get("outputs", []))), -1)
        raise NotebookFailed(path, index, str(err).strip().splitlines()[-1]) from None
    return nb


def export_html(nb: NotebookNode, page: Path, hide_code: bool = True) -> None:
    """Write a notebook as a self-contained HTML page for a planner: figures embedded as data URIs,
    tables and text kept, code cells left out (``hide_code=False`` keeps them)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(embed_images=True, exclude_input=hide_code,
                            exclude_input_prompt=hide_code, exclude_output_prompt=hide_code)
    body, _ = exporter.from_notebook_node(nb)
    page.write_text(body, encoding="utf-8")


#: Stylesheet of the report's index page.
INDEX_STYLE = ("body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;"
               "color:#222;line-height:1.5}h1{border-bottom:2px solid #36c}li{margin:.4rem 0}"
               "a{color:#36c;font-weight:600}small{color:#777}")


def write_index(pages: list[ReportPage], out_dir: Path) -> Path:
    """Write ``index.html`` linking every page."""
    items = "\n".join(
        f'<li><a href="{html.escape(p.page.name)}">{html.escape(p.title or p.notebook.stem)}</a>'
        f" <small>({html.escape(p.notebook.name)})</small></li>"
        for p in pages
    )
    index = out_dir / "index.html"
    index.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>iaxsim report</title>\n"
        f"<style>{INDEX_STYLE}</style></head>\n"
        "<body><h1>iaxsim report</h1>\n<p>What does it cost to link PBXs over IAX2 when "
        f"numbering plans overlap? One page per question.</p>\n<ol>\n{items}\n</ol>\n</body></html>\n",
        encoding="utf-8",
    )
    return index


def build_report(notebook_dir: Path, out_dir: Path, progress: bool = True) -> Path:
    """Execute every ``*.ipynb`` in ``notebook_dir`` (sorted) and write HTML pages plus ``index.html``.

    The files the notebooks write (through :func:`iaxsim.report.output_dir`) go into ``out_dir``
    beside the pages. Raises :class:`NotebookFailed` naming the notebook and cell when a cell fails.
    """
    from tqdm import tqdm

    notebooks = sorted(Path(notebook_dir).glob("*.ipynb"))
    if not notebooks:
        raise IaxsimError(f"no notebooks found in {notebook_dir}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages: list[ReportPage] = []
    bar = tqdm(notebooks, desc="notebooks", unit="nb", disable=not progress)
    for path in bar:
        bar.set_postfix_str(path.name)
        nb = execute_notebook(path, out_dir=out_dir)
        page = out_dir / (path.stem + ".html")
        export_html(nb, page)
        pages.append(ReportPage(path, page, notebook_title(nb)))
    return write_index(pages, out_dir)
