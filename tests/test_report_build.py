"""The report builder executes real notebooks in a real kernel and writes HTML pages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from iaxsim.report import NotebookFailed, build_report


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "md"
                        else nbformat.v4.new_code_cell(source))
    nbformat.write(nb, path)


@pytest.fixture
def notebook_dir(tmp_path: Path) -> Path:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    write_notebook(nbdir / "01_plot.ipynb", [
        ("md", "# A plotted answer"),
        ("code", "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                 "fig, ax = plt.subplots(); ax.plot([0, 1], [1, 2]); ax.set_title('t'); plt.show()"),
    ])
    write_notebook(nbdir / "02_text.ipynb", [
        ("md", "# Second page"),
        ("code", "from iaxsim.report import output_dir\n(output_dir() / 'answer.txt').write_text(str(6 * 7))\n"
                 "print(6 * 7)"),
    ])
    return nbdir


def test_report_pages_index_and_embedded_figures(notebook_dir: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IAXSIM_REPORT_DIR", raising=False)
    out = Path("reports")  # relative to the builder's folder, while the kernels run in notebook_dir
    index = build_report(notebook_dir, out, progress=False)
    assert index == out / "index.html"
    # what a notebook writes through output_dir() lands beside the pages, nowhere else
    assert (tmp_path / "reports" / "answer.txt").read_text() == "42"
    assert not (notebook_dir / "reports").exists()
    assert sorted(p.name for p in notebook_dir.iterdir()) == ["01_plot.ipynb", "02_text.ipynb"]
    index_html = index.read_text()
    assert 'href="01_plot.html"' in index_html and "A plotted answer" in index_html
    assert 'href="02_text.html"' in index_html and "Second page" in index_html
    plot_page = (out / "01_plot.html").read_text()
    assert "data:image/png;base64," in plot_page
    assert "42" in (out / "02_text.html").read_text()


def test_failing_cell_is_named(tmp_path: Path) -> None:
    nbdir = tmp_path / "bad"
    nbdir.mkdir()
    write_notebook(nbdir / "03_broken.ipynb", [("md", "# Broken"), ("code", "x = 1"),
                                                ("code", "raise RuntimeError('boom')")])
    with pytest.raises(NotebookFailed) as info:
        build_report(nbdir, tmp_path / "out", progress=False)
    assert info.value.notebook.name == "03_broken.ipynb"
    assert info.value.cell_index == 2
    assert "03_broken.ipynb" in str(info.value) and "cell 2" in str(info.value)


def test_cli_report_exits_nonzero_and_names_cell(tmp_path: Path) -> None:
    nbdir = tmp_path / "bad"
    nbdir.mkdir()
    write_notebook(nbdir / "broken.ipynb", [("code", "1/0")])
    proc = subprocess.run([sys.executable, "-m", "iaxsim.cli", "report", "--notebooks", str(nbdir),
                           "--out", str(tmp_path / "o"), "--no-progress"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "broken.ipynb: cell 0 failed" in proc.stderr
    assert "ZeroDivisionError" in proc.stderr


def test_empty_notebook_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "iaxsim.cli", "report", "--notebooks", str(tmp_path),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no notebooks found" in proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="the kernel uses TCP where there are no IPC sockets")
def test_notebook_kernel_talks_over_ipc_and_prints_no_warning(tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    """The kernel runs in ``cwd``, takes ``env``, and uses local IPC sockets: nothing listens on a
    TCP port, and the kernel prints nothing into the planner's terminal (ipykernel warns about
    unencrypted TCP)."""
    from iaxsim.report.build import run_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, sys\nprint(os.getcwd(), os.environ['PROBE'])\n"
        "conn = sys.modules['ipykernel.kernelapp'].IPKernelApp.instance().transport\nprint(conn)")])
    env = {**__import__("os").environ, "PROBE": "set"}
    run_notebook(nb, tmp_path, timeout=120, env=env)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).split()
    assert printed == [str(tmp_path), "set", "ipc"]
    err = capfd.readouterr().err
    assert "TCP" not in err and "WARNING" not in err, err
