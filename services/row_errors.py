"""What the CSV imports of rows tell about the bad ones (capacity measurements, costs): the
first MAX_ERRORS by line, then only how many more there were, so that a file of bad rows
gives an answer one can read."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.tabular import RowError

MAX_ERRORS = 50  # reported; the rest are counted


@dataclass
class RowErrors:
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.more_errors

    def refuse(self, line: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line, message))
        else:
            self.more_errors += 1
