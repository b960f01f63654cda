"""Deterministic, varied English sentences for accuracy tests of the executors.

The mix covers short and long inputs (some well over 128 tokens, so truncation is exercised),
punctuation, numbers, rare and hyphenated words, and a few non-ASCII characters.

Usage::

    from models.sentences import varied_sentences
    texts = varied_sentences(200, seed=0)   # same list on every machine and run
"""

from __future__ import annotations

import random

SUBJECTS = [
    "The committee",
    "A small robot",
    "My grandmother",
    "The quantum physicist",
    "Our neighbour's cat",
    "The municipal archive",
    "An anonymous donor",
    "The night-shift nurse",
    "Every validator",
    "The sommelier",
    "A lighthouse keeper",
    "The sourdough starter",
    "The parliament",
]
VERBS = [
    "approved",
    "misplaced",
    "painted",
    "audited",
    "photographed",
    "translated",
    "rejected",
    "reassembled",
    "forgot about",
    "celebrated",
    "questioned",
    "serialised",
    "smuggled",
]
OBJECTS = [
    "the quarterly budget",
    "a chrysanthemum",
    "the obsidian sculpture",
    "seventeen invoices",
    "the zk-SNARK proof",
    "an antediluvian manuscript",
    "the borscht recipe",
    "a palimpsest",
    "the ledger's Merkle root",
    "the sesquipedalian lecture",
    "a café au lait",
]
PLACES = [
    "in Reykjavík",
    "near the old harbour",
    "on floor 42",
    "at 3:15 a.m.",
    "during the eclipse",
    "behind the bakery",
    "in room B-207",
    "on 12 March 1998",
    "somewhere in Kraków",
]
CLAUSES = [
    "although nobody expected it",
    "because the forecast promised 87% rain",
    "which cost exactly $1,249.99",
    "while the orchestra tuned in A440",
    "as the algorithm converged after 10^6 iterations",
    "despite a 0.003 mm tolerance",
    "so the auditors (all three of them) were satisfied",
    "unless the quorum—7 of 12—objected",
]
RARE = [
    "defenestration",
    "floccinaucinihilipilification",
    "syzygy",
    "quokka",
    "ultracrepidarian",
    "xylophonist",
    "onomatopoeia",
    "pneumonoultramicroscopic",
    "kakistocracy",
    "zugzwang",
]
QUESTIONS = ["Why", "How", "When", "Where", "Did", "Could"]
ENDINGS = [".", "!", "?", "...", ";", "."]


def _clause(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}"


def _short(rng: random.Random) -> str:
    return f"{rng.choice(RARE).capitalize()}{rng.choice(ENDINGS)}"


def _plain(rng: random.Random) -> str:
    return f"{_clause(rng)}{rng.choice(ENDINGS)}"


def _question(rng: random.Random) -> str:
    clause = _clause(rng)
    return f"{rng.choice(QUESTIONS)} {clause[0].lower()}{clause[1:]}?"


def _numeric(rng: random.Random) -> str:
    a, b = rng.randint(0, 99_999), rng.uniform(-1000, 1000)
    return f"Item #{a} weighed {b:.3f} kg, i.e. {b * 2.2046:.1f} lb ({rng.randint(1, 100)}%)."


def _compound(rng: random.Random) -> str:
    parts = [f"{_clause(rng)}, {rng.choice(CLAUSES)}" for _ in range(rng.randint(2, 4))]
    return "; ".join(parts) + rng.choice(ENDINGS)


def _long(rng: random.Random) -> str:
    # Long enough to exceed 128 WordPiece tokens, so truncation is part of the test.
    parts = [
        f"{_clause(rng)}, {rng.choice(CLAUSES)}, {rng.choice(RARE)}"
        for _ in range(rng.randint(8, 14))
    ]
    return ". ".join(parts) + "."


KINDS = [_short, _plain, _plain, _question, _numeric, _compound, _compound, _long]


def varied_sentences(n: int = 200, seed: int = 0) -> list[str]:
    """n deterministic varied sentences: ``varied_sentences(3)`` → 3 strings, same every run."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        text = KINDS[len(out) % len(KINDS)](rng)
        if text not in seen:  # duplicates would silently shrink the accuracy test
            seen.add(text)
            out.append(text)
    return out
