"""Compose benchmarks: per sample issue, each stage of the build, first and warm.

First builds run in a fresh Python process (cold template, Markdown and
premailer caches; imports not counted); warm builds are the median of
repeated in-process builds. When ``node`` is on the PATH, the English
sample's MJML is also compiled by the reference compiler, npm ``mjml``
(installed once into ``var/bench/node/``, never committed), in-process in
node, and the ratio to mjml-python is reported.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Report
from mailer.compose import build_issue
from mailer.compose.context import issue_context
from mailer.compose.environment import render
from mailer.compose.pipeline import compile_mjml, template_dir
from mailer.config import Settings, load_settings
from mailer.content import load_issue

ROOT = Path(__file__).resolve().parent.parent
LABELS = {
    "ai2x-briefing-2026-01-12": "EN briefing (5 features)",
    "china-6g-ai-plus-2024-03-09": "EN article (1 feature)",
    "china-tech-2025-01-27": "NL digest (13 briefs)",
}
SAMPLES = list(LABELS)
ENGLISH = SAMPLES[0]
WARM_RUNS = 15
NODE_DIR = ROOT / "var" / "bench" / "node"
STAGES = [
    ("jinja", "Jinja render + Markdown"),
    ("mjml", "MJML compile"),
    ("inline", "CSS inlining"),
    ("text", "text part"),
    ("build", "total build (+ lint, web pages, files)"),
]

_FIRST_BUILD = """
import json, sys, tempfile, time
from pathlib import Path
from mailer.config import load_settings
from mailer.compose import build_issue
settings = load_settings(sys.argv[2], environ={})
start = time.perf_counter()
result = build_issue(Path(sys.argv[1]), Path(tempfile.mkdtemp()), settings)
timings = dict(result.composed.timings)
timings["build"] = (time.perf_counter() - start) * 1000
print(json.dumps(timings))
"""

# With `node -e`, process.argv[1] is the first argument.
_NODE_COMPILE = """
const mjml = require(process.argv[1]);
const src = require("fs").readFileSync(process.argv[2], "utf8");
const runs = Number(process.argv[3]);
const opts = { validationLevel: "skip", fonts: {} };
for (let i = 0; i < 5; i++) mjml(src, opts);
const start = process.hrtime.bigint();
for (let i = 0; i < runs; i++) mjml(src, opts);
console.log(JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6 / runs }));
"""


def _stages(timings: dict[str, float]) -> dict[str, float]:
    return {
        "jinja": timings.get("context", 0.0) + timings.get("jinja", 0.0),
        "mjml": timings.get("mjml", 0.0),
        "inline": timings.get("inline", 0.0),
        "text": timings.get("text", 0.0),
        "build": timings.get("build", 0.0),
    }


def _first_build(slug: str, config: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_BUILD, str(ROOT / "issues" / slug), str(config)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return _stages(json.loads(out.stdout))


def _warm_builds(slug: str, settings: Settings) -> dict[str, float]:
    samples: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(WARM_RUNS + 2):
            start = time.perf_counter()
            result = build_issue(ROOT / "issues" / slug, Path(tmp) / str(run), settings)
            timings = dict(result.composed.timings)
            timings["build"] = (time.perf_counter() - start) * 1000
            if run >= 2:  # the first two fill the caches
                samples.append(_stages(timings))
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def _mailer_build_seconds(config: Path) -> tuple[float, float]:
    """Median wall time and CPU time (user + system) of the whole `mailer build` command."""
    mailer = Path(sys.executable).parent / "mailer"
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(3):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                [str(mailer), "--config", str(config), "build", ENGLISH, "--out", f"{tmp}/{run}"],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def _node_mjml(source: Path) -> tuple[float | None, str]:
    """Milliseconds per compile with npm mjml in node, or None and why not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        return None, "node not installed"
    module = NODE_DIR / "node_modules" / "mjml"
    if not module.is_dir():
        if npm is None:
            return None, "npm not installed"
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        install = subprocess.run(
            [npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "mjml@4"],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            return None, "npm install mjml failed: " + install.stderr.strip()[-120:]
    out = subprocess.run(
        [node, "-e", _NODE_COMPILE, str(module), str(source), "50"],
        check=True,
        capture_output=True,
        text=True,
    )
    version = json.loads((module / "package.json").read_text(encoding="utf-8"))["version"]
    return float(json.loads(out.stdout)["ms"]), f"npm mjml {version}"


def _mjml_python_ms(source: str, runs: int = 200) -> float:
    for _ in range(5):
        compile_mjml(source)
    start = time.perf_counter()
    for _ in range(runs):
        compile_mjml(source)
    return (time.perf_counter() - start) * 1000 / runs


def _english_mjml(settings: Settings) -> str:
    issue = load_issue(ROOT / "issues" / ENGLISH, settings)
    context: dict[str, Any] = issue_context(issue, settings)
    name = issue.template or settings.compose.template
    return render(template_dir(settings), f"{name}/email.mjml.j2", issue.language, context)


FREEZE_RUNS = 9


def _freeze_ms(settings: Settings) -> tuple[float, int, int]:
    """Median ms to freeze a send of the English sample (five stories) with its snapshot.

    What `mailer send` does before any recipient is touched: load the issue,
    compose the email for the list, render the web version (issue page and
    one page per story), and store the send and its snapshot in SQLite.
    Returns (median ms, stories, snapshot bytes).
    """
    from mailer.compose.snapshot import freeze_issue
    from mailer.db import Database
    from mailer.db import subscribers as store
    from mailer.deliver.sends import create_send

    folder = Path(tempfile.mkdtemp(prefix="mailer-bench-freeze-"))
    db = Database(f"sqlite:///{folder / 'freeze.db'}")
    try:
        db.upgrade()
        with db.session() as s:
            store.upsert_list(
                s,
                "bench",
                {"name": "Bench", "description": "", "from_name": "Bench",
                 "from_email": "bench@example.org", "reply_to": "", "language": "en",
                 "template": "default", "double_opt_in": False, "postal_address": "Street 1"},
            )  # fmt: skip
        times, stories, size = [], 0, 0
        for _ in range(FREEZE_RUNS):
            start = time.perf_counter()
            issue = load_issue(ROOT / "issues" / ENGLISH, settings)
            composed, snapshot = freeze_issue(
                issue, settings, postal_address="Street 1", from_name="Bench"
            )
            create_send(settings, db, composed, "bench", again=True, snapshot=snapshot)
            times.append((time.perf_counter() - start) * 1000)
            stories = len(issue.stories())
            size = sum(len(body.encode()) for body in snapshot.pages.values())
        # The first run fills template and Markdown caches, as `mailer serve` has them.
        return statistics.median(times[1:]), stories, size
    finally:
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def run(report: Report) -> None:
    config = ROOT / "config.toml"
    settings = load_settings(config, environ={})
    freeze, stories, size = _freeze_ms(settings)
    report.add(
        "compose",
        f"freeze a {stories}-story send with its snapshot (SQLite)",
        freeze,
        "ms",
        target="< 200 ms",
        ok=freeze < 200,
        note=f"load + compose + web version + store, warm median of {FREEZE_RUNS - 1}; "
        f"snapshot {size / 1024:.0f} KiB",
    )
    for slug in SAMPLES:
        first = _first_build(slug, config)
        warm = _warm_builds(slug, settings)
        for key, label in STAGES:
            is_target = slug == ENGLISH and key == "build"
            report.add(
                "compose",
                f"{LABELS[slug]}: {label}, warm",
                warm[key],
                "ms",
                target="< 100 ms" if is_target else "",
                ok=(warm[key] < 100) if is_target else None,
                note=f"first build: {first[key]:.1f} ms",
            )

    wall, cpu = _mailer_build_seconds(config)
    load = os.getloadavg()[0]
    report.add(
        "compose",
        "`mailer build` EN briefing (whole command)",
        wall,
        "s",
        target="< 1.5 s",
        ok=wall < 1.5,
        note=f"wall, median of 3; CPU {cpu:.2f} s; load average {load:.1f}",
    )

    source = _english_mjml(settings)
    python_ms = _mjml_python_ms(source)
    report.add("compose", "MJML compile EN briefing, mjml-python", python_ms, "ms")
    with tempfile.NamedTemporaryFile("w", suffix=".mjml", delete=False, encoding="utf-8") as fh:
        fh.write(source)
    try:
        node_ms, note = _node_mjml(Path(fh.name))
    finally:
        Path(fh.name).unlink()
    if node_ms is None:
        report.add("compose", "MJML compile EN briefing, npm mjml", 0, "ms", note=note)
        return
    report.add("compose", "MJML compile EN briefing, npm mjml (node)", node_ms, "ms", note=note)
    ratio = node_ms / python_ms
    report.add(
        "compose",
        "MJML compile: mjml-python speed-up",
        ratio,
        "x",
        target=">= 20x",
        ok=ratio >= 20,
    )
