"""Progress for output that is not a terminal (``run.sh | tee log``, nohup, CI): plain lines.

A redrawn progress bar written to a file leaves only its last, truncated state. :class:`PlainProgress`
takes the calls the trainer and the CLI make on rich's ``Progress`` (``add_task``, ``update``,
``advance``) and prints a line each time a task passes another twentieth of its total, and at its end.
"""

from __future__ import annotations

import sys


class PlainProgress:
    STEPS = 20

    def __init__(self, unit: str = "", stream=None):
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tasks: list[dict] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description: str, total: float | None = None, completed: int = 0, **fields) -> int:
        self.tasks.append({"name": description.strip(), "total": total, "done": completed, "shown": completed,
                           "losses": fields.get("losses", "")})
        return len(self.tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, completed=self.tasks[task_id]["done"] + advance)

    def update(self, task_id: int, completed: float | None = None, total: float | None = None,
               advance: float | None = None, description: str | None = None, losses: str | None = None,
               **_) -> None:
        t = self.tasks[task_id]
        t["total"] = t["total"] if total is None else total
        t["name"] = t["name"] if description is None else description.strip()
        t["losses"] = t["losses"] if losses is None else losses
        t["done"] = t["done"] + advance if advance is not None else (t["done"] if completed is None else completed)
        total, done = t["total"], t["done"]
        step = max(1, total // self.STEPS) if total else 1
        if done - t["shown"] >= step or (total and done >= total > t["shown"]):
            t["shown"] = done
            of = f"/{total:g}" if total else ""
            pct = f" ({100 * done / total:.0f} %)" if total else ""
            unit = f" {self.unit}" if self.unit else ""
            print(f"{t['name']}: {done:g}{of}{unit}{pct}  {t['losses']}".rstrip(), file=self.stream, flush=True)
