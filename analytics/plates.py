"""Indonesian number plates from OCR text: normalise one reading, vote over a track's readings, `unread` over a guess.

A plate is a region code (1–2 letters, from the list below; Semarang is `H`), 1–4 digits and up to 3 suffix letters:
`H 1234 AB`. The smaller second row (the expiry month and year, `05.27`) never parses as a plate. OCR confuses
letters and digits that look alike (O/0, B/8, S/5…); a character is swapped only where the format needs the other
kind (never where the digits meet the suffix, where either side could be the misread one, nor a whole region: a line
starting with digits lost its region), and each swap lowers the reading's confidence (docs/architecture.md, "Parking cases and plates").
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

UNREAD = "unread"
REGIONS = frozenset("""A B D E F G H K L M N P R S T W Z AA AB AD AE AG BA BB BD BE BG BH BK BL BM BN BP DA DB DC DD DE
    DG DH DK DL DM DN DR DS DT EA EB ED KB KH KT KU PA PB""".split())
AS_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}
AS_DIGIT = {"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "J": "1", "Z": "2", "A": "4", "S": "5",
            "G": "6", "T": "7", "B": "8"}
SWAP_PENALTY = 0.15  # confidence lost per swapped character
_PLATE = re.compile(r"^([A-Z]{1,2}) ([0-9]{1,4})(?: ([A-Z]{1,3}))?$")


@dataclass(frozen=True)
class PlateText:
    """One frame's reading: the plate (`H 1234 AB`) and its confidence in [0, 1]."""

    plate: str
    confidence: float
    line: str = ""  # the OCR text it was read from


def _segment(chars: str, letters: bool) -> tuple[str, int] | None:
    """The segment as letters (or digits), swapping look-alikes; (text, swaps) or None if it cannot be."""
    out, swaps = [], 0
    for char in chars:
        if char.isalpha() == letters and (char.isalpha() or char.isdigit()):
            out.append(char)
            continue
        swapped = (AS_LETTER if letters else AS_DIGIT).get(char)
        if swapped is None:
            return None
        out.append(swapped)
        swaps += 1
    return "".join(out), swaps


def parse_plate(text: str, confidence: float) -> PlateText | None:
    """The plate in one OCR line (None when it is not one): the split into region, digits and suffix that needs the
    fewest swaps; two equally good splits that read differently are no reading (never a coin toss)."""
    chars = re.sub(r"[^A-Z0-9]", "", text.upper())
    if not 2 <= len(chars) <= 9:
        return None
    best: dict[str, int] = {}
    for region_len in (1, 2):
        for digits_len in range(1, 5):
            suffix = chars[region_len + digits_len:]
            if len(suffix) > 3 or region_len + digits_len > len(chars):
                continue
            parts = (_segment(chars[:region_len], True), _segment(chars[region_len:region_len + digits_len], False),
                     _segment(suffix, True))
            if None in parts or parts[0][0] not in REGIONS:
                continue
            if suffix and (not chars[region_len + digits_len - 1].isdigit() or not suffix[0].isalpha()):
                continue  # never swap where digits meet the suffix: either side could be the misread one
            if parts[0][1] == region_len:
                continue  # a region all swapped from digits is a region missed (`2912 TPC`), not read
            plate = " ".join(p for p, _ in parts if p)
            swaps = sum(s for _, s in parts)
            best[plate] = min(swaps, best.get(plate, swaps))
    if not best:
        return None
    fewest = min(best.values())
    winners = [plate for plate, swaps in best.items() if swaps == fewest]
    if len(winners) > 1:
        return None
    return PlateText(winners[0], max(0.0, confidence - SWAP_PENALTY * fewest), text)


def plate_from_lines(lines: list[tuple[str, float, tuple[float, float, float, float]]]) -> PlateText | None:
    """The most confident plate among OCR lines (text, confidence, x0 y0 x1 y1), trying each line and each row of
    lines side by side (a plate's letters and digits may come back as separate boxes)."""
    candidates = [(text, score) for text, score, _ in lines]
    rows = defaultdict(list)
    for text, score, (x0, y0, x1, y1) in lines:
        rows[round((y0 + y1) / 2 / max(1.0, (y1 - y0)))].append((x0, text, score))
    for row in rows.values():
        if len(row) > 1:
            row.sort()
            candidates.append(("".join(t for _, t, _ in row), min(s for _, _, s in row)))
    readings = [r for text, score in candidates if (r := parse_plate(text, score)) is not None]
    return max(readings, key=lambda r: r.confidence, default=None)


@dataclass(frozen=True)
class PlateVerdict:
    """A track's plate after voting: the plate or `unread`, its confidence (mean of the votes for it), how many
    frames voted for it and how many were read."""

    plate: str
    confidence: float
    votes: int
    reads: int

    @property
    def read(self) -> bool:
        return self.plate != UNREAD

    def to_json(self) -> dict:
        return {"plate": self.plate, "plate_confidence": round(self.confidence, 3), "plate_votes": self.votes,
                "plate_reads": self.reads}


def has_suffix(plate: str) -> bool:
    """Whether a plate has its suffix letters (`H 1234 AB`, not `H 1234`)."""
    return plate.count(" ") == 2


def vote(readings: list[PlateText | None], min_votes: int = 2, min_confidence: float = 0.6,
         min_share: float = 0.5) -> PlateVerdict:
    """The plate most frames agree on, weighted by confidence: it needs `min_votes` frames, a mean confidence of at
    least `min_confidence`, at least `min_share` of the frames that read a plate and more frames than any other
    plate; otherwise `unread`. A reading without suffix letters votes for nothing: private and commercial plates
    have them, and one missing is far more often a plate cut short (its edge, a shadow) than an official plate like
    `H 1`, which is then `unread` and read by the officer from the photo. For the same reason a reading whose suffix
    is the start of another reading's (`H 1 N` beside `H 1 NJ`) votes for the longer plate."""
    reads = len(readings)
    tally: dict[str, list[float]] = defaultdict(list)
    for reading in readings:
        if reading is not None and has_suffix(reading.plate):
            tally[reading.plate].append(reading.confidence)
    for short in sorted(tally, key=len):
        longer = [p for p in tally if p != short and p.startswith(short)]
        if longer:  # a cut-short read of the longest plate it begins (its most-voted, if several)
            tally[max(longer, key=lambda p: (len(tally[p]), len(p)))].extend(tally.pop(short))
    if not tally:
        return PlateVerdict(UNREAD, 0.0, 0, reads)
    ranked = sorted(tally.items(), key=lambda item: (sum(item[1]), len(item[1])), reverse=True)
    plate, scores = ranked[0]
    voted = sum(len(s) for s in tally.values())
    confidence = sum(scores) / len(scores)
    tied = len(ranked) > 1 and len(ranked[1][1]) >= len(scores)
    if len(scores) < min_votes or confidence < min_confidence or len(scores) < min_share * voted or tied:
        return PlateVerdict(UNREAD, confidence, len(scores), reads)
    return PlateVerdict(plate, confidence, len(scores), reads)


def is_plate(text: str) -> bool:
    """Whether `text` is a normalised plate (`H 1234 AB`)."""
    match = _PLATE.match(text)
    return match is not None and match.group(1) in REGIONS
