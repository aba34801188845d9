"""Batch grading of a whole class (``python -m autograder batch``): intake of the
submissions, parallel and resumable grading, and the outputs an instructor reads (a
gradebook, each student's feedback and results file, and a class report)."""
from pathlib import Path

from autograder.batch.run import Batch, Options, grade_class


def write_all(batch, out):
    """Every output of a finished batch; returns the summary lines."""
    from autograder.batch import outputs, report
    reports, statuses = outputs.write_outputs(batch, out)
    outputs._write(Path(out) / "report.html", report.render(batch, reports, statuses))
    return outputs.summary_lines(batch, reports, statuses, out)


__all__ = ["Batch", "Options", "grade_class", "write_all"]
