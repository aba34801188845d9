"""GitHub: the workflow of a student repository, and what its steps print.

The workflow (``.github/workflows/classroom.yml``, generated from the manifest) grades each
assignment in a step of its own. A step runs ``python -m autograder classroom ID``, which
grades the student's files against the recorded reference outputs and

* writes ``results/ID.json`` (Gradescope's format, uploaded as an artifact);
* sets the step output ``result``: the base64 JSON that GitHub Classroom's autograding
  reporter (``classroom-resources/autograding-grading-reporter``) reads, a test per check
  with its points, so Classroom shows partial credit;
* prints the points table.

A last step writes the points table of every assignment to the job summary
(``$GITHUB_STEP_SUMMARY``), so the same workflow serves plain GitHub Actions without
Classroom. The install is CPU-only torch from PyTorch's index, cached by pip.

The workflow of a Japanese repository sets ``AUTOGRADER_LANG: ja`` for the job, so its steps'
points tables, the feedback and the job summary are Japanese; its step names are Japanese
too. The summary and the Classroom payload speak the language in use.
"""
import base64
import json
import os
from pathlib import Path

from autograder import results as R
from autograder.i18n import _, language, normalize, tr

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def runner_id(assignment_id):
    """The reporter accepts step ids of letters and digits only: ``03_adam`` -> ``a03adam``."""
    return "a" + "".join(c for c in assignment_id if c.isalnum())


def classroom_payload(report):
    """The JSON GitHub Classroom's reporter reads, for one assignment's report."""
    tests, maximum = [], 0.0
    for r in report.results:
        maximum += r.max_points   # the same maximum on every machine (autograder.results)
        if not r.counts:
            continue
        name = tr("{check} ({label}): {reason}", check=r.check, label=r.label, reason=r.reason)
        tests.append({"name": name[:300],
                      "status": "pass" if r.status == R.PASSED else "fail",
                      "score": r.points, "max_score": r.max_points, "line_no": 0,
                      "message": r.reason, "test_code": ""})
    failed = any(t["status"] != "pass" for t in tests)
    return {"version": 1, "status": "fail" if failed else "pass", "max_score": maximum,
            "tests": tests}


def encode(payload):
    return base64.b64encode(json.dumps(payload).encode()).decode()


def set_output(name, value):
    """A step output (``$GITHUB_OUTPUT``), when running in GitHub Actions."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{name}={value}\n")


def summary_markdown(results_folder):
    """The points of every graded assignment, as the job summary shows them."""
    rows, total, maximum, later, elsewhere = [], 0.0, 0.0, [], []
    for path in sorted(Path(results_folder).glob("*.json")):
        data = json.loads(path.read_text())
        score, top = data.get("score", 0), data.get("max_score", 0)
        total += score
        maximum += top
        tests = data.get("tests", [])
        later += [t["name"].split(" — ")[0] for t in tests if "instructor" in t.get("tags", [])]
        elsewhere += [t["name"].split(" — ")[0] for t in tests
                      if "not_evaluated" in t.get("tags", [])]
        failing = [t["name"].split(" — ")[0] for t in tests
                   if t.get("max_score") and t.get("score", 0) < t["max_score"]
                   and not {"instructor", "not_evaluated"} & set(t.get("tags", []))]
        shown = ", ".join(name.split("::")[-1] for name in failing[:6])
        if len(failing) > 6:
            shown = tr("{names} and {count} more", names=shown, count=len(failing) - 6)
        rows.append(f"| {path.stem} | {score:g}/{top:g} | {shown} |")
    heading, total_label = _("Autograding"), _("total")
    columns = " | ".join((_("assignment"), _("points"), _("checks not passed yet")))
    lines = ["## " + heading, "", f"| {columns} |", "|---|---:|---|", *rows,
             f"| **{total_label}** | **{total:g}/{maximum:g}** | |", ""]
    if later:
        lines.append(tr("Graded by your instructor, not here ({count} checks): {names}.",
                        count=len(later),
                        names=", ".join(name.split("::")[-1] for name in later)))
    if elsewhere:
        lines.append(tr("Not evaluated on this machine (no GPU, {count} checks): {names}. "
                        "Their points stay in the maximum, the same on every machine.",
                        count=len(elsewhere),
                        names=", ".join(name.split("::")[-1] for name in elsewhere)))
    lines.append(_("This score is a convenience: your grade is your instructor's run of the "
                   "pristine grader, with hidden seeds."))
    return "\n".join(lines) + "\n"


# The workflow's own words (its comments and step names), in the repository's language.
_WORKFLOW_WORDS = {
    "en": {
        "header": ["# Generated by `python -m autograder export` from the course's manifest.",
                   "# Each assignment is graded in a step of its own; GitHub Classroom reads "
                   "the points",
                   "# from the reporter step, and plain GitHub Actions shows them in the job "
                   "summary."],
        "install": "Install (CPU-only torch)",
        "step": "{id} ({points} points)",
        "summary": "Points table (job summary)",
        "artifact": "Results files",
        "reporter": "Autograding Reporter (GitHub Classroom)",
    },
    "ja": {
        "header": ["# `python -m autograder export` がコースのマニフェストから生成したファイルです。",
                   "# 課題ごとに別のステップで採点します。GitHub Classroom はレポーターのステップから"
                   "点数を読み取り、",
                   "# Classroom を使わない GitHub Actions ではジョブサマリーに点数の表が表示されます。",
                   "# AUTOGRADER_LANG: ja により、点数の表、フィードバック、ジョブサマリーは日本語です。"],
        "install": "インストール（CPU 版の torch）",
        "step": "{id} ({points} 点)",
        "summary": "点数の表（ジョブサマリー）",
        "artifact": "結果ファイル",
        "reporter": "採点レポーター（GitHub Classroom）",
    },
}


def workflow(assignments, torch_requirement="torch>=2.4,<2.15",
             torchvision_requirement="torchvision>=0.19,<0.30", lang=None):
    """The workflow file, as text (YAML), with a grading step per assignment, for a
    repository whose language is ``lang`` (default: the language in use). A Japanese one
    sets ``AUTOGRADER_LANG: ja`` for the job, so every step grades and reports in Japanese;
    an English one leaves the language to the runner (English)."""
    lang = language() if lang is None else normalize(lang)
    words = _WORKFLOW_WORDS[lang]
    lines = [
        *words["header"],
        "name: Autograding",
        "on:",
        "  push:",
        "  workflow_dispatch:",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  autograding:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 30",
        *(["    env:", f"      AUTOGRADER_LANG: {lang}"] if lang != "en" else []),
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        "          python-version: \"3.11\"",
        "          cache: pip",
        "          cache-dependency-path: pyproject.toml",
        f"      - name: {words['install']}",
        "        run: |",
        (f"          python -m pip install \"{torch_requirement}\" "
         f"\"{torchvision_requirement}\" --index-url {TORCH_CPU_INDEX}"),
        "          python -m pip install -e .",
    ]
    for assignment in assignments:
        step = runner_id(assignment.id)
        points = sum(c.points for c in assignment.checks)
        lines += [
            "      - name: " + words["step"].format(id=assignment.id, points=f"{points:g}"),
            f"        id: {step}",
            "        if: always()",
            f"        run: python -m autograder classroom {assignment.id} --results-folder results",
        ]
    runners = ",".join(runner_id(a.id) for a in assignments)
    lines += [
        f"      - name: {words['summary']}",
        "        if: always()",
        "        run: python -m autograder summary results >> \"$GITHUB_STEP_SUMMARY\"",
        f"      - name: {words['artifact']}",
        "        if: always()",
        "        uses: actions/upload-artifact@v4",
        "        with:",
        "          name: autograding-results",
        "          path: results/",
        f"      - name: {words['reporter']}",
        "        if: always()",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
    ]
    for assignment in assignments:
        step = runner_id(assignment.id)
        lines.append(f"          {step.upper()}_RESULTS: \"${{{{ steps.{step}.outputs.result }}}}\"")
    lines += ["        with:", f"          runners: {runners}", ""]
    return "\n".join(lines)
