"""Stopping a grading run cleanly: Ctrl-C and SIGTERM end it within a second.

Both front-ends (the CLI and the pytest plugin) turn SIGTERM, which a CI timeout or a
killed batch sends, into ``Interrupted``, a ``KeyboardInterrupt``, so one path handles
both: the workers are killed at once (not asked to exit), and the results file says what
was graded and that the run was interrupted. A worker never outlives its grader even when
the grader is killed outright (``autograder.runner``).
"""
import signal
import threading


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``signal_name`` says which."""

    def __init__(self, signal_name="SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


def signal_name(error):
    return getattr(error, "signal_name", "SIGINT (Ctrl-C)")


def stop_on_sigterm():
    """From now on SIGTERM raises ``Interrupted`` in the main thread (no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return False

    def handler(signum, frame):
        raise Interrupted("SIGTERM")

    signal.signal(signal.SIGTERM, handler)
    return True
