"""Runs: the stored runs under a results directory, broken ones with the reason."""

import os
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import store


def _describe(path: Path) -> dict[str, Any]:
    """_describe: one run's line; `broken` holds why it cannot be read, else None."""
    row: dict[str, Any] = {"run": path.name, "preset": "?", "date": "?", "trials": None,
                           "failed": None, "impls": "", "report": (path / "report.html").is_file(),
                           "broken": None}
    try:
        meta = store.load_meta(path)
        cfg = meta.get("config")
        cfg = cfg if isinstance(cfg, dict) else {}
        impls = cfg.get("impls")
        row |= {"preset": str(cfg.get("preset", "?")), "date": str(meta.get("created", "?")),
                "impls": ",".join(map(str, impls)) if isinstance(impls, list) else ""}
        records = store.load_records(path)
    except store.StoreError as e:
        # The reason names files inside the run relative to it: "results.jsonl:7: ...".
        row["broken"] = str(e).replace(f"{path}{os.sep}", "")
        return row
    measured = [r for r in records if not r["warmup"]]
    row |= {"trials": len(measured), "failed": sum(not r["ok"] for r in measured)}
    return row


def list_runs(base: Path) -> list[dict[str, Any]]:
    """list_runs: every run directory (one with run.json) under base, oldest first; a
    run that cannot be read is listed too, with `broken` saying why."""
    if not base.is_dir():
        return []
    return [_describe(p) for p in sorted(base.iterdir()) if (p / store.RUN).is_file()]


def plain_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """plain_table: rows as left-aligned columns two spaces apart, nothing cut short."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *rows]]


def render(rows: list[dict[str, Any]], console: Console) -> None:
    if not rows:
        console.print("no runs stored")
        return
    header = ["run", "preset", "date", "trials", "failed", "report", "impls / state"]
    lines = plain_table(header, [
        [r["run"], r["preset"], r["date"][:16].replace("T", " "),
         "?" if r["trials"] is None else str(r["trials"]),
         "?" if r["failed"] is None else str(r["failed"]),
         "yes" if r["report"] else "no",
         f"broken: {r['broken']}" if r["broken"] else r["impls"].replace(",", " ")]
        for r in rows])
    for line in lines:  # plain: no markup, no wrapping, no ellipses at any width
        console.print(line, markup=False, highlight=False, soft_wrap=True)
