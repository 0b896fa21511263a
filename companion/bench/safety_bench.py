"""`companion bench safety`: the crisis detector on its written sentence sets.

Precision and recall of "risk or not", per set (the main set, which the rules were written
against, and the held-out set, which they were not), the share of hits given the right
category, the misses and false alarms by name, and the time a check takes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from companion.cpu import cpu_model
from companion.safety import detect

SETS = ("sentences", "holdout")


@dataclass(frozen=True)
class Scored:
    expected: str
    got: str
    sentence: str


def load_set(name: str) -> list[tuple[str, str]]:
    text = resources.files("companion.safety").joinpath(f"data/{name}.tsv").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            expected, sentence = line.split("\t", 1)
            rows.append((expected, sentence))
    return rows


def score(rows: list[tuple[str, str]]) -> dict[str, Any]:
    scored = []
    for expected, sentence in rows:
        r = detect(sentence)
        scored.append(Scored(expected, r.category if r else "none", sentence))
    tp = sum(s.expected != "none" and s.got != "none" for s in scored)
    fp = sum(s.expected == "none" and s.got != "none" for s in scored)
    fn = sum(s.expected != "none" and s.got == "none" for s in scored)
    return {
        "sentences": len(scored), "positives": tp + fn, "negatives": len(scored) - tp - fn,
        "precision": round(tp / (tp + fp), 3) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 0.0,
        "right_category": round(sum(s.got == s.expected for s in scored
                                    if s.expected != "none" and s.got != "none") / tp, 3)
        if tp else 0.0,
        "missed": [f"[{s.expected}] {s.sentence}" for s in scored
                   if s.expected != "none" and s.got == "none"],
        "false_alarms": [f"[{s.got}] {s.sentence}" for s in scored
                         if s.expected == "none" and s.got != "none"],
        "wrong_category": [f"[{s.expected} → {s.got}] {s.sentence}" for s in scored
                           if "none" not in (s.expected, s.got) and s.expected != s.got],
    }


def run(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"cpu": cpu_model()}
    for name in SETS:
        result[name] = score(load_set(name))
    every = [s for name in SETS for _, s in load_set(name)]
    t0 = time.perf_counter()
    for s in every:
        detect(s)
    result["ms_per_check"] = round((time.perf_counter() - t0) * 1000 / len(every), 3)
    out.mkdir(parents=True, exist_ok=True)
    (out / "safety.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    for name in SETS:
        r = result[name]
        print(f"{name}: {r['sentences']} sentences ({r['positives']} risk, {r['negatives']} "
              f"not): precision {r['precision']:.3f}, recall {r['recall']:.3f}, right category "
              f"{r['right_category']:.0%}")
        for key in ("missed", "false_alarms", "wrong_category"):
            for line in r[key]:
                print(f"  {key.replace('_', ' ')}: {line}")
    print(f"{result['ms_per_check']} ms a check on {result['cpu']}")
    return result
