"""Near-identical code between students, for the instructor's report: token fingerprints with winnowing.

Written here rather than taken from `copydetect` (winnowing, on PyPI): it hashes its k-grams with
Python's salted `hash()` of str, so its fingerprints change from run to run, it renames attribute
names too (`torch.clamp` and `torch.relu` look alike to it), and it imports jinja2, tqdm and
matplotlib for an HTML report we do not use: too much to save the ~100 lines below on `tokenize`.

How it works (Schleimer, Wilkerson, Aiken: "Winnowing", SIGMOD 2003, as MOSS does it):

1. Each exercise's code becomes a list of tokens, with what a copier changes for free taken out:
   comments, blank lines, indentation and docstrings are dropped, and every name (variable,
   parameter, function, module) becomes the same placeholder, so renaming hides nothing. Keywords,
   numbers, operators, strings and attribute names (the `clamp` of `torch.clamp`) stay.
2. Every run of K consecutive tokens (a k-gram) is hashed. Winnowing keeps, of each WINDOW
   consecutive hashes, the smallest: far fewer hashes to compare, yet any shared passage of
   K + WINDOW - 1 tokens or more is sure to share at least one kept hash, its fingerprint.
3. Fingerprints that are not evidence are removed: those of the stub's own text (the signature
   every student started from) and those of passages most of the class wrote (MOSS's `-m`).
4. Two students' code for an exercise is near-identical when they share at least `threshold` of
   the fingerprints of the smaller of the two.

A listing is a lead for the instructor to read, never a verdict: honest students converge on
the same code when an answer is short or canonical, so an exercise is evidence only when each
side wrote at least `min_tokens` tokens of its own, and passages common in the class are not
counted. In a small class a short canonical answer can still be shared by two honest students.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from ..core.manifest import load
from ..core.paths import PACKAGE, SOLUTIONS
from ..core.source import definition_text

K = 5  # tokens per k-gram: shorter passages (`x.clamp(min=0)`) are common to everyone
WINDOW = 4  # hashes per winnowing window: a shared passage of K + WINDOW - 1 = 8 tokens is always seen
NAME = "<name>"  # what every identifier becomes
F_STRING = "<f-string>"  # an f-string holds names, so it is one opaque token
MODULUS = (1 << 61) - 1  # a prime: the k-gram hash is a polynomial in the token hashes modulo it
BASE = 1_000_003

# A passage written by more than COMMON students (or by more than a quarter of the class, when that is
# fewer) is how the course is solved, not a copy: MOSS ignores such passages too (its -m, default 10).
# A ring of ALWAYS_EVIDENCE students or fewer is never hidden this way, however small the class.
COMMON = 10
ALWAYS_EVIDENCE = 3

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
# Python 3.12 splits an f-string into tokens (3.14 a t-string too); before, it is one STRING.
_TEMPLATE_STARTS = {getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)}
_TEMPLATE_ENDS = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}


@dataclass(frozen=True)
class SimilarPair:
    first: str  # student id, the smaller in sort order
    second: str
    share: float  # 0..1: the share of fingerprints they have in common (of the smaller set), over the exercises below
    exercises: tuple[str, ...]  # exercise ids whose code is near-identical between them, in course order


def similar_pairs(code: dict[str, dict[str, str]], stubs: dict[str, str], threshold: float = 0.8,
                  min_tokens: int = 12) -> list[SimilarPair]:
    """code: student -> exercise id -> that exercise's source text as the student wrote it (one function or class definition).
    stubs: exercise id -> the stub's source text of that exercise (what every student started from).
    Returns the pairs whose code for at least one exercise shares >= threshold of its fingerprints, most similar first.

    A pair's `share` pools its near-identical exercises: the fingerprints shared in all of them over
    the smaller side's fingerprints in each, added up (a mean of the exercises' shares, weighted by
    size, so a long copied function weighs more than a short one). Code that does not tokenize is
    skipped; an exercise missing from `stubs` has no boilerplate removed.
    """
    matches: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
    exercises = sorted({e for by_exercise in code.values() for e in by_exercise})
    for exercise in exercises:
        written = {student: by_exercise[exercise] for student, by_exercise in sorted(code.items())
                   if exercise in by_exercise}
        prints = _evidence(written, stubs.get(exercise, ""), min_tokens)
        holders: dict[int, list[str]] = defaultdict(list)
        for student, fingerprints in prints.items():
            for fingerprint in fingerprints:
                holders[fingerprint].append(student)
        # Every fingerprint has few holders (common ones are gone), so this never pairs the whole class.
        shared: Counter[tuple[str, str]] = Counter()
        for students in holders.values():
            shared.update(combinations(students, 2))
        for (first, second), count in shared.items():
            smaller = min(len(prints[first]), len(prints[second]))
            if count / smaller >= threshold:
                matches[first, second].append((exercise, count, smaller))

    order = _course_order()
    pairs = [SimilarPair(first, second, sum(c for _, c, _ in found) / sum(s for _, _, s in found),
                         tuple(sorted((e for e, _, _ in found), key=lambda e: (order.get(e, len(order)), e))))
             for (first, second), found in matches.items()]
    return sorted(pairs, key=lambda p: (-p.share, p.first, p.second))


def _evidence(written: dict[str, str], stub: str, min_tokens: int) -> dict[str, set[int]]:
    """student -> their fingerprints for one exercise, less the stub's and the class's common ones;
    only students with at least `min_tokens` tokens of their own (students sorted, as `written` is)."""
    stub_kgrams = set(_kgram_hashes(tuple(_tokens(stub) or ())))
    kgrams = {student: _kgram_hashes(tokens) for student, text in written.items()
              if (tokens := _tokens(text)) is not None}
    holders: Counter[int] = Counter()
    for hashes in kgrams.values():
        holders.update(set(hashes) - stub_kgrams)
    limit = max(ALWAYS_EVIDENCE, min(COMMON, len(kgrams) // 4))
    not_evidence = stub_kgrams | {h for h, count in holders.items() if count > limit}

    prints = {}
    for student, hashes in kgrams.items():
        # A token is the student's own when no removed k-gram covers it.
        covered = bytearray(len(hashes) + K - 1 if hashes else 0)
        for start, h in enumerate(hashes):
            if h in not_evidence:
                covered[start:start + K] = b"\1" * K
        # Too little code of one's own is no evidence: many honest students write the same
        # `return torch.clamp(x, min=0)` (11 tokens; 12 is the default minimum), and the report
        # must never point at them. Long canonical answers are what the class-wide filter is for.
        if len(covered) - sum(covered) >= min_tokens:
            fingerprints = _winnow(hashes) - not_evidence
            if fingerprints:
                prints[student] = fingerprints
    return prints


@lru_cache(maxsize=4096)  # students who left an exercise alone hand in the stub's very text
def _tokens(source: str) -> tuple[str, ...] | None:
    """The source's tokens as compared (module docstring, step 1), or None if it does not tokenize."""
    tokens: list[str] = []
    line: list[str] = []  # the logical line so far
    only_strings = True  # whether that line is string literals alone: a docstring
    template_depth = 0  # inside an f-string, as Python 3.12 on tokenizes it
    try:
        for kind, text, *_ in tokenize.generate_tokens(io.StringIO(source).readline):
            if template_depth:
                template_depth += (kind in _TEMPLATE_STARTS) - (kind in _TEMPLATE_ENDS)
            elif kind == tokenize.NAME:
                line.append(text if keyword.iskeyword(text) or (line and line[-1] == ".") else NAME)
                only_strings = False
            elif kind == tokenize.STRING:
                line.append(_string(text))
            elif kind in _TEMPLATE_STARTS:
                line.append(F_STRING)
                template_depth = 1
            elif kind == tokenize.NEWLINE or kind == tokenize.ENDMARKER:
                if not only_strings:
                    tokens += line
                line, only_strings = [], True
            elif kind == tokenize.ERRORTOKEN:  # what Python 3.12 on refuses to tokenize, 3.10 passes on
                return None
            elif kind not in _SKIPPED:
                line.append(text)
                only_strings = False
    except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
        return None
    return tuple(tokens)


def _string(literal: str) -> str:
    """A string literal with its quotes made alike ('a' and "a" are one token), an f-string as F_STRING."""
    body = literal.lstrip("rRbBuUfFtT")
    if any(c in "fFtT" for c in literal[:len(literal) - len(body)]):
        return F_STRING
    quote = 3 if body[:3] in ('"""', "'''") else 1
    return '"' + body[quote:-quote] + '"'


def _kgram_hashes(tokens: tuple[str, ...]) -> list[int]:
    """The hash of every K consecutive tokens, rolled along the list: a fixed polynomial, the same in every run."""
    hashes, rolling = [], 0
    leaving = pow(BASE, K - 1, MODULUS)  # the weight of the token that leaves the k-gram
    ids = [_token_hash(t) for t in tokens]
    for i, token in enumerate(ids):
        if i >= K:
            rolling -= ids[i - K] * leaving
        rolling = (rolling * BASE + token) % MODULUS
        if i >= K - 1:
            hashes.append(rolling)
    return hashes


@lru_cache(maxsize=1 << 16)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big") % MODULUS


def _winnow(hashes: list[int]) -> set[int]:
    """The smallest hash of each WINDOW consecutive ones (all of them in one window when there are fewer)."""
    if len(hashes) <= WINDOW:
        return {min(hashes)} if hashes else set()
    return {min(hashes[i:i + WINDOW]) for i in range(len(hashes) - WINDOW + 1)}


def _course_order() -> dict[str, int]:
    return {exercise.id: i for i, exercise in enumerate(load())}


def definition_in(path, name: str) -> str | None:
    """`name`'s definition in the Python file at `path`, or None (no such file or definition,
    or a file that does not parse)."""
    try:
        return definition_text(path.read_text(encoding="utf-8"), name)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


def boilerplate(exercises) -> dict[str, str]:
    """What is no evidence of copying, per exercise: the stub every student started from, and
    the reference solution (an honest student who writes the canonical answer copied nobody)."""
    return {e.id: "\n".join(filter(None, [definition_in(PACKAGE / "stubs" / f"{e.module}.py", e.name),
                                          definition_in(SOLUTIONS / f"{e.module}.py", e.name)]))
            for e in exercises}
