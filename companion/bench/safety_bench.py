"""`companion bench safety`: the crisis detector on its written sentence sets.

Precision and recall of "risk or not" per set (companion/safety/sets.py says what each is and
what was tuned on it), with the second opinion and by the rules alone, the share of hits given
the right category, the misses and false alarms by name, and the time a check takes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from companion.cpu import cpu_model
from companion.safety import detect, semantic
from companion.safety.semantic import SemanticOpinion
from companion.safety.sets import SETS, load_set

Opinion = SemanticOpinion | None | Literal["shared"]

@dataclass(frozen=True)
class Scored:
    expected: str
    got: str
    sentence: str


def score(rows: list[tuple[str, str]], opinion: Opinion = "shared") -> dict[str, Any]:
    """Precision and recall of "risk or not" over `rows`; `opinion=None` scores the rules alone."""
    scored = []
    for expected, sentence in rows:
        r = detect(sentence, opinion)
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
    opinion = semantic.shared()
    result: dict[str, Any] = {"cpu": cpu_model(), "second_opinion": opinion is not None}
    sets = {name: load_set(name) for name in SETS}
    for name, rows in sets.items():
        result[name] = score(rows, opinion)
        result[name]["rules_alone"] = {k: v for k, v in score(rows, None).items()
                                       if k in ("precision", "recall")}
    every = [s for rows in sets.values() for _, s in rows]
    for key, judge in (("ms_per_check_rules", None), ("ms_per_check", opinion)):
        t0 = time.perf_counter()
        for s in every:
            detect(s, judge)
        result[key] = round((time.perf_counter() - t0) * 1000 / len(every), 3)
    out.mkdir(parents=True, exist_ok=True)
    (out / "safety.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    _report(result)
    return result


def _report(result: dict[str, Any]) -> None:
    if not result["second_opinion"]:
        print("the semantic second opinion is not installed: the rules alone")
    for name in SETS:
        r = result[name]
        alone = r["rules_alone"]
        print(f"{name}: {r['sentences']} sentences ({r['positives']} risk, {r['negatives']} "
              f"not): precision {r['precision']:.3f}, recall {r['recall']:.3f}, right category "
              f"{r['right_category']:.0%} (rules alone: {alone['precision']:.3f} / "
              f"{alone['recall']:.3f})")
        for key in ("missed", "false_alarms", "wrong_category"):
            for line in r[key]:
                print(f"  {key.replace('_', ' ')}: {line}")
    print(f"{result['ms_per_check']} ms a check ({result['ms_per_check_rules']} ms the rules "
          f"alone) on {result['cpu']}")
