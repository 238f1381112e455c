"""Notebook execution, HTML export and (later) plotting helpers for the study."""
from iaxsim.report.build import NotebookFailed, build_report

__all__ = ["NotebookFailed", "build_report"]
