"""The crisis detector's written sentence sets (data/*.tsv): `expected category <TAB> sentence`.

sentences.tsv: the rules were written against it. holdout.tsv: held out on 2026-12-03, reported,
then used to train the semantic second opinion. train.tsv: written for the second opinion only.
holdout2.tsv: written on 2026-12-05 before the second opinion existed, scored, then trained on.
holdout3.tsv: written before the second opinion was retrained with holdout2; nothing is tuned on
it."""

from __future__ import annotations

from importlib import resources

SETS = ("sentences", "holdout", "train", "holdout2", "holdout3")


def load_set(name: str) -> list[tuple[str, str]]:
    text = resources.files("companion.safety").joinpath(f"data/{name}.tsv").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            expected, sentence = line.split("\t", 1)
            rows.append((expected, sentence))
    return rows
