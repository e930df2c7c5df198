"""A doctor run's findings: the verdicts, one ``Check`` each, and their ``Diagnosis``.

Its own module so that the check modules (``settings``, ``domains``, ``ses``,
``lists``) and the package that runs them all import it, and none imports the
package: ``mailer.doctor`` imports the check modules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS = "pass"
WARN = "warn"
FAIL = "fail"
UNKNOWN = "unknown"  # shown as "could not check"
LABELS = {PASS: "pass", WARN: "warn", FAIL: "FAIL", UNKNOWN: "could not check"}
# Exit codes of `mailer doctor`: any fail wins over anything left unchecked.
EXIT_FAIL = 1
EXIT_UNKNOWN = 3


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, the verdict, what was seen and how to fix it."""

    area: str
    item: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Diagnosis:
    """Every check of one run, in the order they ran."""

    checks: list[Check] = field(default_factory=list)

    def add(self, area: str, item: str, status: str, detail: str, fix: str = "") -> None:
        self.checks.append(Check(area, item, status, detail, fix if status != PASS else ""))

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    @property
    def exit_code(self) -> int:
        if self.count(FAIL):
            return EXIT_FAIL
        return EXIT_UNKNOWN if self.count(UNKNOWN) else 0

    def summary(self) -> str:
        parts = [f"{self.count(s)} {LABELS[s].lower()}" for s in (PASS, WARN, FAIL, UNKNOWN)]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": [asdict(c) for c in self.checks],
            "summary": {s: self.count(s) for s in (PASS, WARN, FAIL, UNKNOWN)},
            "ok": self.exit_code == 0,
        }
