"""Notebook execution, HTML export and (later) plotting helpers for the study."""
from iaxsim.report.build import NotebookFailed, build_report
from iaxsim.report.output import OUTPUT_ENV, output_dir

__all__ = ["NotebookFailed", "build_report", "OUTPUT_ENV", "output_dir"]
