"""Run every stage's benchmark and print the table (``make bench``).

``python -m bench [stage …]`` runs only the named stages.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from bench.report import Report

STAGES = ["compose", "draft", "lists", "deliver", "events", "guardrails", "web"]


def main(argv: list[str]) -> int:
    wanted = argv or STAGES
    report = Report()
    for stage in wanted:
        try:
            module = importlib.import_module(f"bench.{stage}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{stage}":
                continue
            raise
        print(f"running {stage} benchmarks…", file=sys.stderr, flush=True)
        module.run(report)
    report.print()
    out = Path("var/bench/results.json")
    report.write_json(out)
    print(f"figures written to {out}", file=sys.stderr)
    return 0 if all(r.ok is not False for r in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
