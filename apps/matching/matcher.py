"""Candidates for list rows: blocking on names, scoring, ranking and banding; reads only.

Blocking, per chunk of list rows (one person query, then one query each for their enrolments,
employers and honours):
- the row's name as written and simplified (traditional characters fold to simplified);
- former names: people whose former name is the row's name, and people named as the row's former name;
- pinyin: rows written in Latin letters ("Zhang Wei", "Wei Zhang"); and, for a Chinese name nobody
  carries, the same pinyin (a homophone typed for the right character: 张玮 for 张伟);
- people an earlier decision tied to the same entry (so a confirmed person stays on the row).

When the row gives a birth year, only people born within BIRTH_WINDOW years of it (or whose birth
date is unknown) are candidates: someone born further apart would be a contradiction anyway, and
common names (a million alumni hold 张伟 thousands of times) would otherwise bring every namesake.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from apps.core.names import pinyin_keys

from .parsing import ListRow
from .scoring import (
    BIRTH_WINDOW,
    KEEP_MIN_SCORE,
    MAX_CANDIDATES,
    Catalogue,
    PersonFacts,
    RowContext,
    Scored,
    Statistics,
    band_of,
    chance_agreement,
    rank,
    score,
)
from .selectors import catalogue_load, employer_alumni, former_name_index, person_facts, population

CHUNK_ROWS = 500


@dataclass
class RowResult:
    row: ListRow
    fingerprint: str
    band: str
    candidates: list[Scored] = field(default_factory=list)  # best first, at most MAX_CANDIDATES (+ decided)


def _window(row: ListRow) -> tuple[int, int] | None:
    if row.birth_year is None:
        return None
    return (row.birth_year - BIRTH_WINDOW, row.birth_year + BIRTH_WINDOW)


def _in_window(listed: int, recorded: int | None) -> bool:
    return recorded is None or abs(listed - recorded) <= BIRTH_WINDOW


def _want(wanted: dict[str, list[tuple[int, int]] | None], value: str, window: tuple[int, int] | None) -> None:
    """Ask for ``value`` within ``window``; once any row asks without a window, the value is wanted always."""
    if value in wanted and wanted[value] is None:
        return
    if window is None:
        wanted[value] = None
    else:
        wanted.setdefault(value, []).append(window)


def _chunks(rows: list[ListRow], size: int):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def match_list_rows(
    rows: list[ListRow],
    *,
    user,
    decided: dict[str, set[int]] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    catalogue: Catalogue | None = None,
) -> list[RowResult]:
    """Ranked candidates and a band for every row, among the people ``user`` may see (None: everyone).

    ``decided`` maps row fingerprints to people an earlier decision named; they are scored and kept
    on the row even when they would not have been found or kept otherwise.
    """
    decided = decided or {}
    catalogue = catalogue or catalogue_load()
    formers = former_name_index(user)
    statistics = Statistics(population=population())
    results: list[RowResult] = []
    for chunk in _chunks(rows, chunk_rows):
        fingerprints = {id(row): row.fingerprint for row in chunk}
        names: dict[str, list[tuple[int, int]] | None] = {}
        pinyins: dict[str, list[tuple[int, int]] | None] = {}
        ids: set[int] = set()
        for row in chunk:
            window = _window(row)
            if row.name_key:
                _want(names, row.name, window)
                _want(names, row.name_key, window)
                ids.update(formers.get(row.name_key, ()))
            for former in row.former_names:
                _want(names, former, window)
                ids.update(formers.get(former, ()))
            for key in row.latin_keys:
                _want(pinyins, key, window)
            ids.update(decided.get(fingerprints[id(row)], ()))
        people = person_facts(user, names=names, pinyins=pinyins, ids=ids)

        by_name: dict[str, list[PersonFacts]] = defaultdict(list)
        for person in people.values():
            by_name[person.name_key].append(person)
        # A Chinese name that nobody carries, now or formerly: look for the same pinyin.
        homophones: dict[str, list[tuple[int, int]] | None] = {}
        for row in chunk:
            if (
                row.name_key
                and not by_name.get(row.name_key)
                and not formers.get(row.name_key)
                and not any(by_name.get(f) for f in row.former_names)
            ):
                key = pinyin_keys(row.name_key)[0]
                if key:
                    _want(homophones, key, _window(row))
        if homophones:
            people.update(person_facts(user, pinyins=homophones))
        by_pinyin: dict[str, list[PersonFacts]] = defaultdict(list)
        if pinyins or homophones:
            for person in people.values():
                if person.pinyin in pinyins or person.pinyin in homophones:
                    by_pinyin[person.pinyin].append(person)

        if any(row.organisation for row in chunk):
            statistics.employer_alumni = employer_alumni({text for p in people.values() for text, _key in p.employers})
        for row in chunk:
            fingerprint = fingerprints[id(row)]
            pool: dict[int, PersonFacts] = {}
            if row.name_key:
                pool.update((p.id, p) for p in by_name.get(row.name_key, ()))
                pool.update((i, people[i]) for i in formers.get(row.name_key, ()) if i in people)
                if not pool:
                    pool.update((p.id, p) for p in by_pinyin.get(pinyin_keys(row.name_key)[0], ()))
            for former in row.former_names:
                pool.update((p.id, p) for p in by_name.get(former, ()))
                pool.update((i, people[i]) for i in formers.get(former, ()) if i in people)
            for key in row.latin_keys:
                pool.update((p.id, p) for p in by_pinyin.get(key, ()))
            if row.birth_year is not None:
                pool = {i: p for i, p in pool.items() if _in_window(row.birth_year, p.birth_year)}
            if not row.name_key and not row.latin_keys:
                pool = {}
            must_keep = {i for i in decided.get(fingerprint, ()) if i in people}
            pool.update((i, people[i]) for i in must_keep)

            context = RowContext.of(row, catalogue)
            context.namesakes = len(pool)
            ranked = rank([score(context, person, catalogue, statistics) for person in pool.values()])
            band = band_of(ranked)
            kept = [s for s in ranked[:MAX_CANDIDATES] if s.score >= KEEP_MIN_SCORE]
            for scored in kept:
                scored.evidence["chance"] = {
                    "namesakes": len(ranked),
                    "expected_agreeing": round(chance_agreement(scored, len(ranked)), 6),
                    "points": 0,
                }
            kept_ids = {s.person.id for s in kept}
            kept.extend(s for s in ranked if s.person.id in must_keep and s.person.id not in kept_ids)
            results.append(RowResult(row=row, fingerprint=fingerprint, band=band, candidates=kept))
        if progress is not None:
            progress(len(chunk))
    return results
