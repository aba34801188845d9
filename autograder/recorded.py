"""The reference side where there is no reference solution: a student's repository.

``RecordedReference`` answers a ``Grader`` the way a ``ReferenceSide`` does, from the
snapshots (``autograder.snapshots``):

* a check's expected output is the recorded one, so a result is compared exactly as in
  the kit and a wrong one gets the same message;
* a wrong result is recognised as a known mistake when it matches the mistake's
  recorded result (a sketch for large tensors), or raises the same exception;
* a speed check with a baseline times the student's code against that torch built-in,
  in a worker of trusted code only, and allows the budget times how long the reference
  took relative to it when the snapshots were recorded;
* a check the snapshots do not cover (hidden seeds, a GPU check, a speed check without
  a baseline) is graded by the instructor: ``covers`` says no and the grader says so.
"""
import threading

from autograder.runner import Outcome, WorkerRunner
from autograder.snapshots import SnapshotSet, expand


def _sketched(recorded):
    """Whether a recorded result holds a sketch (a large tensor kept at a few positions):
    closeness can only be judged on values recorded in full."""
    from autograder.snapshots import SKETCH
    if isinstance(recorded, dict):
        return SKETCH in recorded or any(_sketched(v) for v in recorded.values())
    if isinstance(recorded, (list, tuple)):
        return any(_sketched(v) for v in recorded)
    return False


class _Mistake:
    def __init__(self, entry):
        self.id, self.title, self.explanation = entry["id"], entry["title"], entry["explanation"]
        self.title_ja = entry.get("title_ja", "")
        self.explanation_ja = entry.get("explanation_ja", "")


class Timing:
    """What a speed check is timed against."""

    def __init__(self, runner, impl, scenario, budget, against, factor=1.0):
        self.runner, self.impl, self.scenario = runner, impl, scenario
        self.budget, self.against, self.factor = budget, against, factor


class RecordedReference:
    """Expected outputs from snapshots; speed against torch baselines."""

    recorded = True

    def __init__(self, assignment, snapshots, seed_offset=0, runner=None):
        self.assignment = assignment
        self.snapshots = snapshots
        self.seed_offset = seed_offset
        self.lock = threading.RLock()
        self.runner = runner or WorkerRunner("baseline")
        self._loaded = False
        self._mistakes = {mid: _Mistake(entry)
                          for mid, entry in snapshots.mistake_titles().items()}

    @classmethod
    def of(cls, assignment, seed_offset=0, runner=None):
        snapshots = SnapshotSet.of(assignment)
        return None if snapshots is None else cls(assignment, snapshots, seed_offset, runner)

    def covers(self, check):
        """Whether this check can be graded here; else why not (for the table)."""
        if check.kind == "speed":
            if self.snapshots.calibration(check) is None:
                return "it is timed against the reference solution"
            return ""
        if self.seed_offset:
            return "hidden seeds"
        if not self.snapshots.covers(check):
            return "no recorded result for it"
        return ""

    def prefetch(self, check, impl="reference"):
        pass

    def load_reference(self):
        pass

    def output(self, check, impl="reference"):
        entry = self.snapshots.reference(check)
        return Outcome(status=entry["status"], data=entry["data"], message=entry["message"],
                       forbidden_calls=list(entry["forbidden_calls"]),
                       scenario_seconds=entry.get("seconds"))

    def diagnose(self, check, expected, got, tolerance):
        """The known mistakes whose recorded result ``got`` matches."""
        from autograder.compare import compare_values, looks_like
        from autograder.grading import split_notes
        reference = self.snapshots.reference(check)["data"]
        found = []
        for mistake_id, entry in self.snapshots.mistakes(check).items():
            if entry["status"] != "ok" or mistake_id not in self._mistakes:
                continue
            variant, _ = split_notes(expand(entry["data"], reference, got))
            if compare_values(variant, got, *tolerance).ok or (
                    not _sketched(entry["data"]) and looks_like(
                        variant, split_notes(reference)[0], got)):
                found.append(self._mistakes[mistake_id])
        return found

    def changes(self, check, mistake):
        """Whether ``mistake`` changes the result of ``check``: the snapshots record a
        mistake's result on exactly the checks it changes."""
        return self.snapshots.covers(check) and mistake.id in self.snapshots.mistakes(check)

    def errors_like(self, check, message, same_error):
        return [self._mistakes[mid] for mid, entry in self.snapshots.mistakes(check).items()
                if entry["status"] == "error" and mid in self._mistakes
                and same_error(entry["message"], message)]

    def timing(self, check):
        calibration = self.snapshots.calibration(check)
        if calibration is None:
            return None
        with self.lock:
            if not self._loaded:
                self.runner.submit_load({
                    "op": "load", "name": "baseline", "assignment": self.assignment.id,
                    "root": str(self.assignment.folder.parent), "files": [], "forbidden": [],
                    "scenarios": str(self.assignment.scenarios_path), "patched_sources": None,
                    "add_to_path": False, "confine": None})
                self._loaded = True
        factor = calibration["reference_over_baseline"]
        return Timing(self.runner, "baseline", check.baseline, check.budget * factor,
                      calibration["baseline"], factor)

    def close(self):
        self.runner.close()

    def abort(self):
        self.runner.abort()
