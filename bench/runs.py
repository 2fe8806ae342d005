"""Runs: the stored runs under a results directory."""

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Column, Table

from bench import store


def _describe(path: Path) -> dict[str, Any] | None:
    try:
        meta = store.load_meta(path)
        records = store.load_records(path)
    except store.StoreError:
        return None
    measured = [r for r in records if not r["warmup"]]
    cfg = meta.get("config", {})
    return {"run": path.name, "preset": cfg.get("preset", "?"), "date": meta.get("created", "?"),
            "trials": len(measured), "failed": sum(not r["ok"] for r in measured),
            "impls": ",".join(cfg.get("impls", [])),
            "report": (path / "report.html").is_file()}


def list_runs(base: Path) -> list[dict[str, Any]]:
    """list_runs: every readable run directory under base, oldest first."""
    if not base.is_dir():
        return []
    found = (_describe(p) for p in sorted(base.iterdir()) if (p / store.RUN).is_file())
    return [r for r in found if r is not None]


def render(rows: list[dict[str, Any]], console: Console) -> None:
    if not rows:
        console.print("no runs stored")
        return
    t = Table(Column("run", no_wrap=True), "preset", "date", "trials", "failed", "report",
              Column("impls", overflow="fold"))
    for r in rows:
        t.add_row(r["run"], r["preset"], r["date"][:16].replace("T", " "), str(r["trials"]),
                  str(r["failed"]), "yes" if r["report"] else "no", r["impls"].replace(",", " "))
    console.print(t)
