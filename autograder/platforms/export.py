"""The repository students get: their files, the teaching, the grader, no solutions.

``python -m autograder export DEST`` writes:

* one folder per assignment, ``03_adam/``, holding what a student reads (``README.md``),
  the file they edit (``optimizers.py``, from ``student_template/``), the checks
  (``scenarios.py``) and the recorded reference outputs they are graded against
  (``snapshots.pt.gz``);
* ``manifest.toml`` (the checks, without the known mistakes' patches), the ``autograder``
  package, ``pyproject.toml``, ``conftest.py``;
* a ``README.md`` for students, in English and in Japanese, and the GitHub workflow
  (``autograder.platforms.github``).

The export speaks a language (``--lang``, else the language in use): the students'
repository then shows its README in that language first and grades in that language by
default. In English, ``README.md`` is English and ``README.ja.md`` Japanese (as in every
assignment folder); in Japanese, ``README.md`` is Japanese and ``README.en.md`` English,
``pyproject.toml`` sets the pytest ini option ``autograder_lang = "ja"`` and the workflow
sets ``AUTOGRADER_LANG: ja``, so the points tables, the feedback and the job summary are
Japanese. Every assignment folder carries both ``README.md`` and ``README.ja.md``.

It never writes ``reference/``, a solution region, a known mistake's patch, the kit's
tests or benchmarks, the example class, or hidden seeds (there are none to write: a grade
seed is only ever given to a grading run). The export refuses to run when the snapshots
are out of date with the reference.
"""
import json
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.i18n import LANGUAGES, language, normalize, tr
from autograder.manifest import KIT_ROOT, ManifestError, load_manifest
from autograder.platforms import github
from autograder.snapshots import FILE_NAME, stale

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass
class Exported:
    destination: Path
    files: list = field(default_factory=list)   # relative paths, sorted

    @property
    def size(self):
        return sum((self.destination / f).stat().st_size for f in self.files)


def readme_names(lang):
    """The file name of the top-level README in each language, for a repository whose
    language is ``lang``: its own language's README is ``README.md``, the one GitHub shows."""
    return {"en": "README.md", "ja": "README.ja.md"} if lang == "en" \
        else {"en": "README.en.md", "ja": "README.md"}


def export(destination, assignments=None, manifest=None, kit_root=KIT_ROOT, force=False,
           lang=None):
    """Write a student repository into ``destination``, whose language is ``lang`` (default:
    the language in use); return what was written."""
    lang = language() if lang is None else normalize(lang)
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language: choose one of {', '.join(LANGUAGES)}")
    manifest = manifest or load_manifest()
    chosen = [manifest.assignment(a) for a in assignments] if assignments \
        else list(manifest.assignments)
    out_of_date = [s for s in stale(manifest) if s.assignment in {a.id for a in chosen}]
    if out_of_date:
        raise ManifestError(tr(
            "snapshots out of date: {problems}. Run `python -m autograder snapshots` first.",
            problems="; ".join(f"{s.assignment}: {s.reason}" for s in out_of_date)))
    destination = Path(destination).resolve()
    if destination.exists() and any(destination.iterdir()):
        if not force:
            raise FileExistsError(tr("{path} is not empty (use --force to replace it)",
                                     path=destination))
        shutil.rmtree(destination)
    destination.mkdir(parents=True, exist_ok=True)
    kit_root = Path(kit_root)
    shutil.copytree(kit_root / "autograder", destination / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    ids = {a.id for a in chosen}
    for assignment in chosen:
        folder = destination / assignment.id
        folder.mkdir()
        for name in ("README.md", "README.ja.md", "scenarios.py", FILE_NAME):
            shutil.copy2(assignment.folder / name, folder / name)
        for name in assignment.files:
            source = kit_root / "student_template" / assignment.id / name
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    (destination / "manifest.toml").write_text(manifest_text(manifest, ids))
    (destination / "pyproject.toml").write_text(_pyproject(kit_root, lang))
    (destination / "conftest.py").write_text(
        '"""Loads the grader\'s pytest plugin: `pytest 03_adam` grades that assignment."""\n'
        'pytest_plugins = ["autograder.pytest_plugin"]\n')
    (destination / ".gitignore").write_text("__pycache__/\n*.pyc\n.venv/\nresults/\n"
                                            "results.json\n*.egg-info/\nautograder-repro/\n")
    for written, name in readme_names(lang).items():
        (destination / name).write_text(student_readme(chosen, written, lang))
    workflow = destination / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(github.workflow(chosen, lang=lang))
    files = sorted(str(p.relative_to(destination)) for p in destination.rglob("*") if p.is_file())
    leaked = solution_leaks(destination)
    if leaked:
        raise RuntimeError(tr("the export would hold solution code: {files}", files=leaked))
    return Exported(destination, files)


def solution_leaks(folder):
    """Files outside the grader's own code that hold a solution region marker."""
    found = []
    for path in Path(folder).rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and relative.parts[0] != "autograder" \
                and path.suffix in (".py", ".md", ".toml", ".txt", ".yml", ".json"):
            text = path.read_text(errors="replace")
            if any(marker in text for marker in SOLUTION_MARKERS):
                found.append(str(relative))
    return found


def manifest_text(manifest, ids):
    """The kit's manifest for the chosen assignments, without the known mistakes (their
    titles and explanations travel with the snapshots, their patches never)."""
    raw = tomllib.loads(Path(manifest.path).read_text())
    lines = ["# The checks of each assignment, generated from the course's manifest by",
             "# `python -m autograder export`. Graded with the recorded reference outputs in",
             "# <assignment>/snapshots.pt.gz.", f"format_version = {raw['format_version']}"]
    for entry in raw["assignment"]:
        if entry["id"] not in ids:
            continue
        entry = {k: v for k, v in entry.items() if k != "mistakes"}
        if "uses" in entry:
            entry["uses"] = [u for u in entry["uses"] if u in ids]
        checks = entry.pop("check")
        lines += ["", "[[assignment]]"]
        lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
        for check in checks:
            lines += ["", "[[assignment.check]]"]
            lines += [f"{key} = {_toml(value)}" for key, value in check.items()]
    return "\n".join(lines) + "\n"


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _pyproject(kit_root, lang="en"):
    """The kit's project file, as the students' project: its dependencies (what grading
    needs), without the extras (the instructor's tools). In a Japanese repository, pytest's
    ini option ``autograder_lang`` makes Japanese the language of its sessions."""
    raw = tomllib.loads((Path(kit_root) / "pyproject.toml").read_text())
    dependencies = "\n".join(f"    {_toml(d)}," for d in raw["project"]["dependencies"])
    return f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "pytorch-exercises"
version = "{raw["project"]["version"]}"
description = "PyTorch exercises that grade themselves"
requires-python = ">=3.11"
dependencies = [
{dependencies}
]

[tool.setuptools]
packages = ["autograder", "autograder.batch", "autograder.platforms"]

[tool.setuptools.package-data]
autograder = ["locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po"]

[tool.pytest.ini_options]
addopts = "-p no:cacheprovider"
''' + (_PYTEST_LANG if lang == "ja" else "")


_PYTEST_LANG = """# 点数の表とフィードバックの言語（英語にするには pytest --lang en）
autograder_lang = "ja"
"""


def student_readme(assignments, lang="en", repository_lang=None):
    """The top-level README of a students' repository, written in ``lang``, for a repository
    whose own language is ``repository_lang`` (default: ``lang``): it links to the README in
    the other language and says how to see the checks' messages in it."""
    repository_lang = repository_lang or lang
    names = readme_names(repository_lang)
    other = "ja" if lang == "en" else "en"
    link = names[other]
    first = assignments[0]
    if lang == "ja":
        return _readme_ja(assignments, first, link, repository_lang)
    return _readme_en(assignments, first, link, repository_lang)


def _points(assignment):
    return f"{sum(c.points for c in assignment.checks):g}"


def _readme_en(assignments, first, link, repository_lang):
    rows = "\n".join(f"| `{a.id}/` | {a.title} | `{a.id}/{a.files[0]}` | {_points(a)} |"
                     for a in assignments)
    if repository_lang == "en":
        switch, language_note = "--lang ja     # the table and the feedback in Japanese", ""
    else:
        switch = "--lang en     # the table and the feedback in English"
        language_note = ("\nThe checks of this repository speak Japanese (`autograder_lang = "
                         "\"ja\"` in\n`pyproject.toml`, and `AUTOGRADER_LANG: ja` in its "
                         "workflow): add `--lang en`, or set\n`AUTOGRADER_LANG=en`, for "
                         "English.\n")
    return f"""# PyTorch, piece by piece
日本語: [{link}]({link})

You learn PyTorch here by writing its pieces yourself. Each assignment is a folder: read its
`README.md` (the concepts, with the maths, a plain explanation, a real use and code, then
your tasks; `README.ja.md` in Japanese), write your code in the file it names, and run its
checks. The checks compare your results with the reference solution's and tell you exactly
what differs, and when your result looks like a known mistake, they name it.

| folder | what you build | the file you edit | points |
|---|---|---|---:|
{rows}

## Set up (two commands, Python 3.11 or newer; Linux, macOS or Windows)

```bash
python3.11 -m venv .venv && source .venv/bin/activate    # Windows: .venv\\Scripts\\activate
pip install -e .
```

(`pip install -e .` installs PyTorch, a large download the first time. On a machine without
an NVIDIA GPU, `pip install torch torchvision --index-url {github.TORCH_CPU_INDEX}` first
gives you the much smaller CPU-only build; with a CUDA GPU keep the default one, and the GPU
checks run on your machine too. Every system grades the same checks with the same points;
only Linux also sandboxes your code.)

## Run the checks

```bash
pytest {first.id}               # one assignment
pytest                          # all of them
pytest {first.id} -k some_name  # only the checks whose names contain some_name
pytest {first.id} -s            # also show what your code printed in passing checks
pytest {first.id} --in-process --pdb   # debug: your code runs inside pytest
pytest {first.id} {switch}
```
{language_note}
A run of some checks ends with "partial: N of M checks run, not a grade". A check that hangs
is stopped after a few seconds (a multiple of the reference's own time), and the message
shows the line it was running and its variables. With `--in-process`, a wrong value also
writes `autograder-repro/<check>.py`, a script that reproduces the check in one process for
your debugger.

At the end you get a points table:

- `PASS`: your result matches the reference's;
- `FAIL`: it does not; the message above the table says where it first differs, with the
  expected and actual values, and names the known mistake it looks like;
- `ERROR`: your code raised an exception (the message shows your line), `TIMEOUT`: it did
  not finish, `TODO`: not implemented yet, `NO IMPORT`: the file does not import;
- `FORBIDDEN`: you used the torch function or class the task asks you to write yourself;
- `N/A`: cannot run on this machine (a GPU check without a GPU): it scores nothing here
  and stays in the maximum, which is the same on every machine;
- `LATER`: graded by your instructor, not here (checks timed against the reference
  solution, which this repository does not hold): in the maximum, not graded here.

Speed checks time your code against a torch built-in doing the same work, and the message
says which: for example "the reference Adam step takes 1.03x `torch.optim.Adam(foreach=True)`,
so yours may take at most 5x the reference".

Your code runs in a separate process with limits (and, on Linux, in a sandbox). Write only
in the file each task names; leave `scenarios.py`, `snapshots.pt.gz`, `manifest.toml` and
`autograder/` as they are.

## On GitHub

Every push runs `.github/workflows/classroom.yml`: each assignment in a step of its own,
the points table in the run's summary, the results files as an artifact, and, in GitHub
Classroom, your points.

## What this score is

You control this repository, its checks and the recorded results it compares with: the
score here is a convenience that tells you where you stand, not your grade. Your grade comes
from your instructor, who grades your files with the pristine grader, the reference
solution and hidden seeds. Code that passes here for the right reasons passes there too.
"""


def _readme_ja(assignments, first, link, repository_lang):
    rows = "\n".join(f"| [`{a.id}/`]({a.id}/README.ja.md) | {a.title_ja or a.title} | "
                     f"`{a.id}/{a.files[0]}` | {_points(a)} |" for a in assignments)
    if repository_lang == "ja":
        switch = "--lang en     # 点数の表とフィードバックを英語で表示"
        language_note = ("点数の表とフィードバックは日本語で表示されます（`pyproject.toml` の "
                         "`autograder_lang = \"ja\"` の設定によります）。英語で表示するには "
                         "`--lang en` を付けるか、環境変数 `AUTOGRADER_LANG=en` を設定して"
                         "ください。\n\n")
        github_note = "ワークフローの表示も日本語です（`AUTOGRADER_LANG: ja`）。"
    else:
        switch = "--lang ja     # 点数の表とフィードバックを日本語で表示"
        language_note = ("このリポジトリのチェックは、点数の表とフィードバックを英語で表示し"
                         "ます。日本語で表示するには `--lang ja` を付けるか、環境変数 "
                         "`AUTOGRADER_LANG=ja` を設定してください。\n\n")
        github_note = ""
    return f"""# 部品から作って学ぶ PyTorch
English: [{link}]({link})

このリポジトリでは、PyTorch の部品を自分の手で書きながら PyTorch を学びます。課題ごとに1つのフォルダがあります。まずフォルダの `README.ja.md` を読み（概念の説明が、数式を使った定義や意味、嚙み砕いた説明、実際の応用例、実装例の順に続き、最後にタスクがあります。英語版は `README.md` です）、指定されたファイルにコードを書いて、その課題のチェックを実行します。チェックはあなたの結果を模範解答の結果と比べ、どこが違うのかを正確に示します。結果がよくある間違いに当てはまる場合は、その間違いの名前も示します。

| フォルダ | 作るもの | 編集するファイル | 点数 |
|---|---|---|---:|
{rows}

## 準備（コマンド2つ。Python 3.11 以降、Linux・macOS・Windows）

```bash
python3.11 -m venv .venv && source .venv/bin/activate    # Windows: .venv\\Scripts\\activate
pip install -e .
```

`pip install -e .` は PyTorch をインストールします（初回はダウンロードが大きくなります）。NVIDIA の GPU がないマシンでは、先に `pip install torch torchvision --index-url {github.TORCH_CPU_INDEX}` を実行すると、ずっと小さい CPU 版が入ります。CUDA を使える GPU がある場合はデフォルトのビルドのままにしてください。GPU のチェックも手元のマシンで実行されます。どのシステムでも、同じチェックが同じ点数で採点されます。違いは、Linux ではあなたのコードがサンドボックスの中で実行されることだけです。

## チェックを実行する

```bash
pytest {first.id}               # 1つの課題
pytest                          # すべての課題
pytest {first.id} -k some_name  # 名前に some_name を含むチェックだけ
pytest {first.id} -s            # 合格したチェックでも、コードが出力した内容を表示
pytest {first.id} --in-process --pdb   # デバッグ: あなたのコードを pytest の中で実行
pytest {first.id} {switch}
```

{language_note}一部のチェックだけを実行したときは、最後に「一部のみ: チェック M 個中 N 個を実行（成績ではない）」と表示されます。終わらなくなったチェックは数秒（模範解答にかかる時間の何倍か）で停止され、メッセージには実行中だった行とその時点の変数が表示されます。`--in-process` を付けると、値が間違っていた場合に `autograder-repro/<check>.py` も書き出されます。これはチェックを1つのプロセスで再現するスクリプトで、デバッガで1行ずつ追えます。

最後に点数の表が表示されます:

- `PASS`: あなたの結果が模範解答の結果と一致しています。
- `FAIL`: 一致していません。表の上のメッセージに、最初に違った場所が期待値と実際の値とともに示されます。よくある間違いに当てはまる場合は、その名前も示されます。
- `ERROR`: あなたのコードが例外を送出しました（メッセージにその行が表示されます）。`TIMEOUT`: 終わりませんでした。`TODO`: まだ実装されていません。`NO IMPORT`: ファイルを import できません。
- `FORBIDDEN`: タスクで自分で書くように求められている torch の関数やクラスを使いました。
- `N/A`: このマシンでは実行できません（GPU のないマシンでの GPU のチェック）。ここでは点数が付きませんが、満点には含まれたままです。満点はどのマシンでも同じです。
- `LATER`: ここではなく担当教員が採点します（模範解答と比べて時間を測るチェックです。模範解答はこのリポジトリにはありません）。満点には含まれますが、ここでは採点されません。

速度のチェックは、同じ処理をする torch の組み込み機能と比べてあなたのコードの時間を測り、何と比べたかをメッセージに示します。たとえば、模範解答の Adam の1ステップには `torch.optim.Adam(foreach=True)` の 1.03x の時間がかかるので、あなたのコードには模範解答の 5x までの時間が許される、という具合です。

あなたのコードは、制限付きの別のプロセスで実行されます（Linux ではさらにサンドボックスの中で実行されます）。コードを書くのは、各タスクが指定するファイルだけにしてください。`scenarios.py`、`snapshots.pt.gz`、`manifest.toml`、`autograder/` は変更しないでください。

## GitHub での採点

プッシュするたびに `.github/workflows/classroom.yml` が実行されます。課題ごとに別のステップで採点し、点数の表を実行のサマリーに表示し、結果ファイルをアーティファクトとして保存します。GitHub Classroom では、あなたの点数が Classroom に送られます。{github_note}

## この点数について

このリポジトリも、そのチェックも、チェックが比較に使う記録済みの結果も、あなたの手元にあり、自由に変更できます。そのため、ここでの点数は今の進み具合を知るための目安であり、成績ではありません。成績は担当教員が付けます。教員は、元のままの採点プログラム、模範解答、非公開のシードを使ってあなたのファイルを採点します。正しい理由で合格しているコードなら、そこでも合格します。
"""
