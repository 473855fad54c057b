"""Exceptions that carry where bad input was found (file, line, field)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is and what is wrong.

    `where` is a human-readable location such as ``"starlink.tle:12"`` or
    ``"scenario.toml:7 constellation.shells[0].phasing"``.
    """

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class InputError(ValueError):
    """Bad input refused before a run starts; holds every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("input", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C: its directory holds a checkpoint, run.json says "interrupted",
    and ``twin run --resume RUN_DIR`` continues it. A KeyboardInterrupt, so code that does not
    know it still stops."""

    def __init__(self, run_dir, next_epoch: int | None = None):
        self.run_dir = run_dir
        self.next_epoch = next_epoch
        super().__init__(f"run interrupted: resume with `twin run --resume {run_dir}`")
