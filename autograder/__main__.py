"""Command line: ``python -m autograder <command>``.

    grade ID [--solution TREE] [--results FILE]   grade one assignment, print the table
    batch SUBMISSIONS --out DIR [--jobs N]        grade a class: gradebook, feedback, report
    demo [--out DIR]                              build the example class and grade it
    snapshots [--check] [IDS]                     record the reference outputs an export grades with
    export DEST [--assignments IDS]               write the repository students get
    classroom ID [--results-folder DIR]           grade one assignment in a GitHub workflow step
    summary RESULTS_FOLDER                        the points table for a job summary (Markdown)
    nbgrader COURSE [--assignments IDS] [--seed N] an nbgrader course: notebooks, config, gradebook
    gradescope build OUT.zip [--assignments IDS]  Gradescope's autograder zip (run: grade there)
    mutants [IDS] [--limit N]                     mutation testing of the checks (cosmic-ray)
    template [--check]                            regenerate student_template/ (or verify it)
    list                                          assignments, checks and points
    validate                                      validate the manifest and mistake patches
    docs [--check]                                rewrite the checks table of each README
    i18n [--check]                                update and compile the message catalogs (Babel)

TREE is a folder laid out like ``reference/`` (``TREE/03_adam/optimizers.py``),
or one of the words ``reference`` and ``template``.

Every message is in the language of ``--lang`` (else ``AUTOGRADER_LANG``, else the locale);
the help of the options stays in English (it is built before ``--lang`` is read).
"""
import argparse
import sys
from pathlib import Path

from autograder.i18n import N_, README_NAMES, _, pick, tr
from autograder.manifest import (KIT_ROOT, REFERENCE_ROOT, TEMPLATE_ROOT, ManifestError,
                                 load_manifest, resolve_solution)


def _columns():
    """The terminal's width (the points table fits it); None when output is not one."""
    from autograder.results import terminal_columns
    return terminal_columns()


def _grade(args):
    from autograder import results as R
    from autograder.grading import grade
    from autograder.sandbox import detect
    from autograder.signals import signal_name
    solution = resolve_solution(args.solution)
    if not solution.is_dir():
        print(tr("error: solution tree {tree} is not a folder", tree=repr(args.solution)),
              file=sys.stderr)
        return 2
    assignment = load_manifest().assignment(args.assignment)
    total = len(args.checks.split(",")) if args.checks else len(assignment.checks)
    report = R.Report(solution=str(solution), expected_checks=len(assignment.checks))
    warning = detect().warning()
    if warning:
        print(warning, file=sys.stderr)
    if args.results:
        R.write_in_progress(args.results, f"{args.assignment} of {solution}")
    try:
        grade(args.assignment, solution, in_process=args.in_process, seed_offset=args.seed,
              checks=args.checks.split(",") if args.checks else None, report=report,
              on_check=_progress)
    except KeyboardInterrupt as stop:
        print("\n" + tr("Interrupted by {signal}: {graded} of {total} checks were graded.",
                        signal=signal_name(stop), graded=len(report.results), total=total)
              + "\n")
        if report.results:
            print(report.format_table(_columns()))
        if args.results:
            R.write_interrupted(report, args.results, signal_name(stop), total)
            print("\n" + tr("Partial results written to {path}", path=args.results))
        return 143 if signal_name(stop) == "SIGTERM" else 130
    except Exception as error:  # still leave a results file that parses
        if args.results:
            R.write_grader_failure(args.results, f"{type(error).__name__}: {error}")
        raise
    if args.verbose:
        for result in report.results:
            if result.status != "passed":
                print(f"\n=== {result.assignment}::{result.check} [{result.label}] ===")
                print(result.full_text())
        print()
    print(tr("Grading {assignment} of {solution} (seed offset {seed})",
             assignment=args.assignment, solution=solution, seed=args.seed))
    if report.sandbox:
        print(report.sandbox)
    print()
    print(report.format_table(_columns()))
    if args.results:
        R.write_results(report, args.results)
        print("\n" + tr("Results written to {path}", path=args.results))
    return 0


def _demo(args):
    from autograder.batch.examples import build_class
    out = Path(args.out)
    students = build_class(out / "submissions", load_manifest())
    print(tr("The example class ({count} students) is in {folder}:", count=len(students),
             folder=out / "submissions"))
    for name, about in students:
        print(f"  {name}: {about}")
    print()
    args.submissions, args.out = str(out / "submissions"), str(out / "graded")
    code = _batch(args)
    if code == 0:
        print("\n" + tr("The gradebook ({path}), student and assignment totals:",
                        path=Path(args.out) / "gradebook.csv"))
        print(_gradebook_table(Path(args.out) / "gradebook.csv"))
    return code


def _gradebook_table(path):
    import csv
    rows = list(csv.reader(path.open()))
    header = rows[0]
    keep = [i for i, name in enumerate(header) if "::" not in name
            and name not in ("status", "seed")]
    keep.append(header.index("status"))
    table = [[row[i] for i in keep] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(keep) - 1)]
    lines = []
    for row in table:
        cells = [cell.rjust(w) if n else cell.ljust(w) for n, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells) + "  " + row[-1])
    return "\n".join(lines)


def _batch(args):
    from autograder.batch import Options, grade_class, write_all
    from autograder.sandbox import detect
    from autograder.signals import signal_name
    submissions = Path(args.submissions)
    if not submissions.is_dir():
        print(tr("error: submissions folder {folder} is not a folder",
                 folder=repr(args.submissions)), file=sys.stderr)
        return 2
    warning = detect().warning()
    if warning:
        print(warning, file=sys.stderr)
    options = Options(submissions=submissions, out=Path(args.out), jobs=args.jobs,
                      assignments=args.assignments.split(",") if args.assignments else None,
                      seed=args.seed, speed=not args.no_speed,
                      cache=Path(args.cache) if args.cache else None,
                      progress=not args.no_progress, backend=args.backend,
                      address=args.address)
    bar = None
    if options.progress:
        from tqdm import tqdm
        bar = tqdm(total=0, unit="job", desc=_("grading"), dynamic_ncols=True)

    def progress(done, total, student, assignment):
        if bar is not None:
            bar.total = total
            bar.set_postfix_str(f"{student} {assignment}", refresh=False)
            bar.update(done - bar.n)

    try:
        batch = grade_class(options, on_progress=progress)
    except RuntimeError as error:
        if type(error).__name__ != "ClusterError":   # (the Ray backend's; ray is optional)
            raise
        if bar is not None:
            bar.close()
        print(tr("error: {error}", error=error), file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        if bar is not None:
            bar.close()
        partial = getattr(stop, "batch", None)
        done = partial.graded_now if partial else 0
        print("\n" + tr("Interrupted by {signal} after {count} job(s) graded in this run. "
                        "Nothing graded is lost: run the same command again to finish.",
                        signal=signal_name(stop), count=done))
        return 143 if signal_name(stop) == "SIGTERM" else 130
    if bar is not None:
        bar.close()
    lines = write_all(batch, options.out)
    print("\n".join(lines))
    return 0


def _snapshots(args):
    from autograder import snapshots
    manifest = load_manifest()
    chosen = args.assignments.split(",") if args.assignments else None
    stale = [s for s in snapshots.stale(manifest) if chosen is None or s.assignment in chosen]
    if args.check:
        for item in stale:
            print(tr("out of date: {assignment}: {reason}", assignment=item.assignment,
                     reason=item.reason))
        print(_("snapshots are in sync with the reference") if not stale else
              _("run `python -m autograder snapshots` to record them again"))
        return 1 if stale else 0
    targets = [a for a in manifest.assignments
               if (chosen is None and (args.all or a.id in {s.assignment for s in stale}))
               or (chosen is not None and a.id in chosen)]
    for assignment in targets:
        snapshot = snapshots.build(assignment)
        path = snapshots.snapshot_path(assignment)
        snapshots.write(path, snapshot)
        speed = ", ".join(f"{c}: {v['reference_over_baseline']:.2f}x {v['baseline']}"
                          for c, v in snapshot["speed"].items())
        values = dict(path=path.relative_to(KIT_ROOT), size=f"{path.stat().st_size / 1e6:.2f}",
                      speed=speed)
        print(tr("wrote {path} ({size} MB); the reference takes {speed}", **values) if speed
              else tr("wrote {path} ({size} MB)", **values))
    if not targets:
        print(_("snapshots are in sync with the reference (--all records them all again)"))
    return 0


def _export(args):
    from autograder.platforms.export import export
    try:
        exported = export(args.destination, args.assignments.split(",") if args.assignments
                          else None, force=args.force)
    except FileExistsError as error:
        print(tr("error: {error}", error=error), file=sys.stderr)
        return 2
    print(tr("wrote {count} files ({size} MB) to {destination}", count=len(exported.files),
             size=f"{exported.size / 1e6:.1f}", destination=exported.destination))
    return 0


def _classroom(args):
    from autograder import results as R
    from autograder.grading import grade
    from autograder.platforms import github
    solution = resolve_solution(args.solution)
    report = R.Report(solution=str(solution))
    grade(args.assignment, solution, report=report)
    print(report.format_table())
    folder = Path(args.results_folder)
    R.write_results(report, folder / f"{args.assignment}.json")
    github.set_output("result", github.encode(github.classroom_payload(report)))
    return 0


def _summary(args):
    from autograder.platforms import github
    print(github.summary_markdown(args.results_folder), end="")
    return 0


def _nbgrader(args):
    from autograder.platforms.nbgrader import SETTINGS_FILE, build_course
    destination = Path(args.course)
    if (destination / "source").exists() and not args.force:
        print(tr("error: {destination} already holds a course (source/); use --force to "
                 "write its notebooks again", destination=destination), file=sys.stderr)
        return 2
    notebooks = build_course(destination, args.assignments.split(",") if args.assignments
                             else None, seed=args.seed, cuda=args.cuda)
    for path in notebooks:
        print(tr("wrote {path}", path=path))
    print(tr("wrote {config}, {gradebook} and {settings} (the hidden seed offset: keep it "
             "from students)", config=destination / "nbgrader_config.py",
             gradebook=destination / "gradebook.db", settings=destination / SETTINGS_FILE))
    print(tr("next: cd {destination} && nbgrader generate_assignment <id>",
             destination=destination))
    return 0


def _mutants(args):
    try:
        from autograder.mutation import REPORT, run
        import cosmic_ray  # noqa: F401
    except ImportError:
        print(_("error: mutation testing needs cosmic-ray: pip install -e \".[mutation]\""),
              file=sys.stderr)
        return 2
    rows, _report = run(args.assignments.split(",") if args.assignments else None,
                        jobs=args.jobs, limit=args.limit, report=args.report or REPORT,
                        progress=not args.no_progress)
    for row in rows:
        judged = row["killed"] + row["survived"]
        print(tr("{assignment}: {mutants} mutants, {killed} killed, {survived} survived, "
                 "{equivalent} equivalent ({share} killed), {named} named, {seconds} s",
                 assignment=row["assignment"], mutants=row["mutants"], killed=row["killed"],
                 survived=row["survived"], equivalent=row["equivalent"],
                 share=f"{100.0 * row['killed'] / judged if judged else 100.0:.1f}%",
                 named=row["named"], seconds=f"{row['seconds']:g}"))
    print(tr("report: {path}", path=args.report or REPORT))
    return 0


def _progress(number, total, check):
    print(f"[{number}/{total}] {check.id}", file=sys.stderr, flush=True)


def _template(args):
    from autograder.template import template_differences, write_template
    reference, template = REFERENCE_ROOT, TEMPLATE_ROOT
    if args.check:
        problems = template_differences(reference, template)
        for problem in problems:
            print(problem)
        if problems:
            print(_("student_template/ is out of date: run `python -m autograder template`."))
            return 1
        print(_("student_template/ is in sync with reference/."))
        return 0
    written = write_template(reference, template)
    print("\n".join(tr("wrote {path}", path=f"student_template/{p}") for p in written)
          or _("already up to date"))
    return 0


# a check's kind, as ``list`` shows it
_KINDS = {"agreement": N_("agreement"), "speed": N_("speed")}


def _list(args):
    manifest = load_manifest()
    for assignment in manifest.assignments:
        total = sum(c.points for c in assignment.checks)
        print(tr("{assignment}: {title} ({total} points; concepts: {concepts})",
                 assignment=assignment.id, title=pick(assignment.title, assignment.title_ja),
                 total=f"{total:g}", concepts=", ".join(assignment.concepts)))
        for check in assignment.checks:
            where = f" [{check.device}]" if check.device != "cpu" else ""
            kind = _(_KINDS[check.kind]) if check.kind in _KINDS else check.kind
            print(f"  {check.id:<22} {check.points:>4g}  {kind}{where}: "
                  f"{pick(check.title, check.title_ja)}")
    return 0


_TABLE_BEGIN, _TABLE_END = "<!-- checks table: begin -->", "<!-- checks table: end -->"


# The checks table of each README, in its language (README.md and README.ja.md).
_TABLE_WORDS = {
    "en": {"head": "| check | points | what is checked |", "speed": "speed on {device}, budget "
           "{budget}x", "agreement": "agreement", "total": "total", "gpu": "GPU checks are "
           "graded where CUDA is; elsewhere they are not evaluated and stay in the maximum"},
    "ja": {"head": "| チェック | 点数 | 確かめる内容 |", "speed": "{device} での速度、許容倍率 "
           "{budget}x", "agreement": "一致", "total": "合計", "gpu": "GPU のチェックは CUDA の"
           "ある環境で採点します。それ以外では評価されず、満点には含まれたままです"},
}


def checks_table(assignment, lang="en"):
    """The Markdown table of an assignment's checks, as its README (in ``lang``) shows it."""
    words = _TABLE_WORDS[lang]
    rows = [words["head"], "| --- | ---: | --- |"]
    for check in assignment.checks:
        device = check.device.upper() if check.device == "cuda" else "CPU"
        kind = (words["speed"].format(device=device, budget=f"{check.budget:g}")
                if check.kind == "speed" else words["agreement"])
        title = check.title_ja if lang == "ja" and check.title_ja else check.title
        kind = f"（{kind}）" if lang == "ja" else f" ({kind})"
        rows.append(f"| `{check.id}` | {check.points:g} | {title}{kind} |")
    total = sum(c.points for c in assignment.checks)
    rows.append(f"| **{words['total']}** | **{total:g}** | {words['gpu']} |")
    return "\n".join(rows)


def readme_with_table(text, assignment, lang="en"):
    """``text`` with the part between the table markers replaced by the current table."""
    begin, end = text.find(_TABLE_BEGIN), text.find(_TABLE_END)
    if begin < 0 or end < begin:
        raise ValueError(f"README of {assignment.id} lacks the markers {_TABLE_BEGIN} / {_TABLE_END}")
    return (text[: begin + len(_TABLE_BEGIN)] + "\n" + checks_table(assignment, lang) + "\n"
            + text[end:])


def _docs(args):
    manifest = load_manifest()
    stale, missing = [], []
    for assignment in manifest.assignments:
        for lang, name in README_NAMES.items():
            path = assignment.folder / name
            if not path.is_file():
                missing.append(path)
                continue
            text = path.read_text()
            updated = readme_with_table(text, assignment, lang)
            if updated != text:
                stale.append(path)
                if not args.check:
                    path.write_text(updated)
    done = N_("out of date: {path}") if args.check else N_("updated: {path}")
    lines = [tr(done, path=p.relative_to(KIT_ROOT)) for p in stale]
    lines += [tr("missing: {path} (every assignment needs one)", path=p.relative_to(KIT_ROOT))
              for p in missing]
    print("\n".join(lines) or _("READMEs up to date"))
    return 1 if (missing or (args.check and stale)) else 0


def _i18n(args):
    from autograder import catalog
    from autograder.i18n import LANGUAGES
    if args.check:
        found = [p for lang in LANGUAGES if lang != "en" for p in catalog.problems(lang)]
        print("\n".join(found) or _("message catalogs up to date"))
        return 1 if found else 0
    for path in catalog.update():
        print(tr("wrote {path}", path=path.relative_to(KIT_ROOT)))
    found = [p for lang in LANGUAGES if lang != "en" for p in catalog.problems(lang)]
    print("\n".join(found) or _("every message has its translation"))
    return 1 if found else 0


def _validate(args):
    manifest = load_manifest(reference_root=REFERENCE_ROOT)
    print(tr("{file}: {count} assignment(s), valid", file=manifest.path.name,
             count=len(manifest.assignments)))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", help="language of the feedback and the tables: en or ja "
                                       "(default: AUTOGRADER_LANG, else the locale)")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade one assignment of one solution tree")
    grade.add_argument("assignment")
    grade.add_argument("--solution", default="template",
                       help="solution tree: a folder, 'reference' or 'template' (default)")
    grade.add_argument("--results", help="write a Gradescope results.json here")
    grade.add_argument("--checks", help="comma-separated check ids (default: all)")
    grade.add_argument("--seed", type=int, default=0, help="offset added to every check's seed")
    grade.add_argument("--in-process", action="store_true",
                       help="debug: run solution code in this process")
    grade.add_argument("-v", "--verbose", action="store_true",
                       help="print the full feedback of every check that did not pass")
    grade.set_defaults(run=_grade)
    batch = commands.add_parser("batch", help="grade every submission of a class")
    batch.add_argument("submissions", help="a folder with one folder or .zip per student")
    batch.add_argument("--out", required=True, help="where the gradebook, feedback and report go")
    batch.add_argument("--assignments", help="comma-separated assignment ids (default: all)")
    batch.add_argument("--jobs", type=int, help="submissions graded at once (default: the "
                                                "number of cores)")
    batch.add_argument("--grade-seed", dest="seed", type=int, default=0,
                       help="offset added to every check's seed, for the whole batch")
    batch.add_argument("--no-speed", action="store_true", help="do not time the speed checks")
    batch.add_argument("--cache", help="reference output cache (default: ~/.cache/...)")
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")
    batch.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="where the jobs run: this machine's cores (default) or a Ray "
                            "cluster (needs the ray extra)")
    batch.add_argument("--address", help="with --backend ray: the cluster to join "
                                          "(host:port, or 'auto' for the one this machine "
                                          "belongs to); default: start one here")
    batch.set_defaults(run=_batch)
    snapshots = commands.add_parser("snapshots", help="record the reference outputs that an "
                                                      "exported student repository grades with")
    snapshots.add_argument("assignments", nargs="?", help="comma-separated ids (default: the "
                                                          "out-of-date ones)")
    snapshots.add_argument("--all", action="store_true", help="record every assignment again")
    snapshots.add_argument("--check", action="store_true", help="only say which are out of date")
    snapshots.set_defaults(run=_snapshots)
    exporting = commands.add_parser("export", help="write the repository students get")
    exporting.add_argument("destination")
    exporting.add_argument("--assignments", help="comma-separated ids (default: all)")
    exporting.add_argument("--force", action="store_true", help="replace a non-empty folder")
    exporting.set_defaults(run=_export)
    classroom = commands.add_parser("classroom", help="grade one assignment in a workflow step")
    classroom.add_argument("assignment")
    classroom.add_argument("--solution", default="template",
                           help="solution tree (default: this repository's files)")
    classroom.add_argument("--results-folder", default="results")
    classroom.set_defaults(run=_classroom)
    summary = commands.add_parser("summary", help="the points table of a results folder")
    summary.add_argument("results_folder")
    summary.set_defaults(run=_summary)
    mutants = commands.add_parser("mutants", help="mutation testing of the checks (needs "
                                                  "cosmic-ray; writes benchmarks/mutation_report.md)")
    mutants.add_argument("assignments", nargs="?", help="comma-separated ids (default: all)")
    mutants.add_argument("--jobs", type=int, help="mutants graded at once")
    mutants.add_argument("--limit", type=int, help="at most this many mutants per assignment, "
                                                   "spread evenly (a quick run)")
    mutants.add_argument("--report", help="where the Markdown report goes")
    mutants.add_argument("--no-progress", action="store_true", help="no progress bar")
    mutants.set_defaults(run=_mutants)
    commands.add_parser("gradescope", help="build Gradescope's autograder zip "
                                                   "(build OUT.zip), or grade there (run)")
    course = commands.add_parser("nbgrader", help="write an nbgrader course directory: a "
                                                   "notebook per assignment, config, gradebook")
    course.add_argument("course", help="the course directory to write")
    course.add_argument("--assignments", help="comma-separated ids (default: all)")
    course.add_argument("--seed", type=int, default=0,
                        help="hidden seed offset the autograding uses (kept out of notebooks)")
    course.add_argument("--cuda", action="store_true",
                        help="include the GPU checks (the autograding machine needs CUDA)")
    course.add_argument("--force", action="store_true", help="write over an existing course")
    course.set_defaults(run=_nbgrader)
    demo = commands.add_parser("demo", help="build the example class and grade it")
    demo.add_argument("--out", default="demo-output", help="where the class and its grades go")
    demo.add_argument("--jobs", type=int, help="submissions graded at once")
    demo.add_argument("--no-speed", action="store_true", help="do not time the speed checks")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo, assignments=None, seed=0, cache=None, backend="local",
                      address=None)
    template = commands.add_parser("template", help="regenerate student_template/")
    template.add_argument("--check", action="store_true", help="only verify it is in sync")
    template.set_defaults(run=_template)
    commands.add_parser("list", help="assignments, checks and points").set_defaults(run=_list)
    commands.add_parser("validate", help="validate the manifest").set_defaults(run=_validate)
    i18n = commands.add_parser("i18n", help="update the message catalogs from the code and "
                                            "compile them (needs Babel)")
    i18n.add_argument("--check", action="store_true",
                      help="only say what is out of step (untranslated, placeholders, .mo)")
    i18n.set_defaults(run=_i18n)
    docs = commands.add_parser("docs", help="rewrite the checks table in each assignment README")
    docs.add_argument("--check", action="store_true", help="only verify the tables are current")
    docs.set_defaults(run=_docs)
    return parser


# What only the instructor's commands use (batch grading and its report, template and
# nbgrader generation): the "instructor" extra of pyproject.toml.
INSTRUCTOR_PACKAGES = {"nbgrader", "matplotlib", "tqdm", "traitlets", "nbformat", "nbconvert",
                       "babel"}


def _leading_lang(argv):
    """``--lang X`` (or ``--lang=X``) before the command, and the arguments without it."""
    if argv[:1] == ["--lang"] and len(argv) > 1:
        return argv[1], argv[2:]
    if argv[:1] and argv[0].startswith("--lang="):
        return argv[0].split("=", 1)[1], argv[1:]
    return None, argv


def main(argv=None):
    from autograder.signals import stop_on_sigterm
    argv = sys.argv[1:] if argv is None else list(argv)
    lang, rest = _leading_lang(argv)
    if rest[:1] == ["gradescope"]:  # its own commands and options (the global --lang first)
        if lang is not None:
            from autograder.i18n import set_language
            try:
                set_language(lang)
            except ValueError as error:
                print(tr("error: --lang: {error}", error=error), file=sys.stderr)
                return 2
        argv = rest
        from autograder.platforms import gradescope
        return gradescope.main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.lang:
        from autograder.i18n import set_language
        try:
            set_language(args.lang)
        except ValueError as error:
            print(tr("error: --lang: {error}", error=error), file=sys.stderr)
            return 2
    stop_on_sigterm()
    try:
        return args.run(args)
    except ManifestError as error:
        print(tr("manifest error: {error}", error=error), file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if error.name == "ray":
            print(_("error: --backend ray needs Ray, an optional extra: pip install -e "
                    "\".[ray]\""), file=sys.stderr)
            return 2
        if error.name not in INSTRUCTOR_PACKAGES:
            raise
        print(tr("error: this command needs {package}, one of the instructor's packages "
                 "(students do not need them): pip install -e \".[instructor]\"",
                 package=error.name), file=sys.stderr)
        return 2
    finally:
        import gc
        gc.freeze()  # exit without a last collection of torch's objects (a third of a second)


if __name__ == "__main__":
    sys.exit(main())
