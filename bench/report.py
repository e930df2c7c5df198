"""The table every benchmark writes its figures into."""

from __future__ import annotations

import json
import platform
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class Row:
    section: str
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target to meet
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(
        self,
        section: str,
        name: str,
        value: float,
        unit: str,
        *,
        target: str = "",
        ok: bool | None = None,
        note: str = "",
    ) -> Row:
        row = Row(section, name, value, unit, target, ok, note)
        self.rows.append(row)
        return row

    def table(self) -> Table:
        table = Table(title="mailer benchmarks")
        for col in ("section", "measure", "value", "target", "ok", "note"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for r in self.rows:
            mark = "" if r.ok is None else ("yes" if r.ok else "NO")
            table.add_row(r.section, r.name, f"{r.value:,.2f} {r.unit}", r.target, mark, r.note)
        return table

    def print(self, console: Console | None = None) -> None:
        (console or Console(width=160)).print(self.table())

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            "started": self.started,
            "rows": [asdict(r) for r in self.rows],
        }
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
