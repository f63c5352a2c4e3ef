"""Dwell times as a histogram: how long visitors stayed in a zone, in bins that add up across cameras and hours,
so a day's or a month's median is estimated from stored sums, never from every visit kept."""

from __future__ import annotations

from bisect import bisect_right

# Bin i holds stays of DWELL_EDGES[i] ≤ seconds < DWELL_EDGES[i + 1] (the last bin is open-ended: 4 h and over).
DWELL_EDGES = (0, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)
DWELL_BINS = len(DWELL_EDGES)


def dwell_bin(seconds: float) -> int:
    return max(0, bisect_right(DWELL_EDGES, seconds) - 1)


def median_dwell(histogram) -> float | None:
    """The median stay in seconds, interpolated linearly inside its bin (the open last bin gives its lower edge);
    None with no stays."""
    total = sum(histogram)
    if not total:
        return None
    half, seen = total / 2, 0
    for i, n in enumerate(histogram):
        if n and seen + n >= half:
            if i + 1 == DWELL_BINS:
                return float(DWELL_EDGES[i])
            low, high = DWELL_EDGES[i], DWELL_EDGES[i + 1]
            return round(low + (high - low) * (half - seen) / n, 1)
        seen += n
    return None  # unreachable: the loop reaches half
