"""Plate accuracy on rendered scenes (tests/analytics/plate_scenes.py): each scene's car is found by the real detector
(YOLOX-Nano), its plate read by the real OCR in every view, the readings voted on (analytics/plates.py).

Seeds 0–59 were used to choose the voting thresholds (`python -m tests.analytics.plate_accuracy --tune`); the test
judges seeds 3000–3059 that were never looked at while tuning. Plates are seen up to MAX_YAW degrees off square.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from matakota.analytics.plates import PlateText, plate_from_lines, vote
from matakota.core.detections import VEHICLES
from matakota.core.geometry import iou_matrix
from tests.analytics.plate_scenes import plate_scene

TUNING_SEEDS = range(0, 60)
HELD_BACK_SEEDS = range(3000, 3060)  # 1000–1059 and 2000–2059 (square plates only) served once: retired
MAX_YAW = 30.0  # degrees: the camera to one side of the parked car
VIEWS = 4  # frames read per parked car (ParkingRule.plate_reads)
MIN_VOTES, MIN_CONFIDENCE = 2, 0.7  # chosen on the tuning seeds: ParkingRule.plate_min_votes, plate_min_confidence


@dataclass
class Measured:
    scenes: int
    detected: int  # scenes whose car the detector found: the vehicles a parking watch would time and read
    correct: int
    unread: int
    wrong: list[tuple[str, str]]  # (truth, read)
    reads: int
    read_seconds: float

    @property
    def accuracy(self) -> float:
        """Exact plates among the detected cars."""
        return self.correct / max(1, self.detected)

    @property
    def unread_rate(self) -> float:
        return self.unread / max(1, self.detected)

    @property
    def wrong_rate(self) -> float:
        return len(self.wrong) / max(1, self.detected)

    @property
    def ms_per_read(self) -> float:
        return 1000 * self.read_seconds / max(1, self.reads)

    def line(self) -> str:
        return (f"{self.detected} of {self.scenes} parked cars detected; of those: exact plate {self.accuracy:.0%}, "
                f"unread {self.unread_rate:.0%}, wrong {self.wrong_rate:.0%}; {self.ms_per_read:.0f} ms of CPU per "
                f"read ({self.reads} reads)")


def parked_box(scene, detector):
    """Where the detector saw the parked car (as the parking watch remembers it: the box where it stopped)."""
    for frame in scene.frames:
        found = detector.detect([frame])[0]
        found = found[np.isin(found.class_id, VEHICLES)]
        if len(found):
            overlap = iou_matrix(np.asarray([scene.box], float), found.xyxy.astype(float))[0]
            if overlap.max() > 0.3:
                return found.xyxy[int(np.argmax(overlap))]
    return None


def readings(clip, seeds, detector, ocr) -> list[tuple[str, list[PlateText | None]]]:
    """Per scene: the truth and each view's reading (None: nothing plate-like read, or the car not detected)."""
    out = []
    for seed in seeds:
        scene = plate_scene(clip, seed, VIEWS, max_yaw=MAX_YAW)
        box, views = parked_box(scene, detector), []
        for frame in scene.frames:
            if box is None:  # the detector never saw the car: nothing to read
                views.append((None, 0.0))
                continue
            started = time.process_time()
            result = ocr.read(frame, box)
            views.append((plate_from_lines(list(result.lines)), time.process_time() - started))
        out.append((scene.plate, views))
    return out


def judge(scenes, min_votes: int = MIN_VOTES, min_confidence: float = MIN_CONFIDENCE) -> Measured:
    measured = Measured(len(scenes), 0, 0, 0, [], 0, 0.0)
    for truth, views in scenes:
        reads = sum(1 for _, seconds in views if seconds > 0)
        if not reads:
            continue  # the detector never found this car: no violation, nothing to read
        measured.detected += 1
        verdict = vote([r for r, _ in views], min_votes=min_votes, min_confidence=min_confidence)
        measured.reads += reads
        measured.read_seconds += sum(seconds for _, seconds in views)
        if not verdict.read:
            measured.unread += 1
        elif verdict.plate == truth:
            measured.correct += 1
        else:
            measured.wrong.append((truth, verdict.plate))
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tune", action="store_true", help="sweep the voting thresholds on the tuning seeds")
    args = parser.parse_args()
    from matakota.core import assets
    from matakota.models.plate_ocr import PlateOcr
    from matakota.models.yolox import YoloxDetector

    detector, ocr = YoloxDetector(assets.fetch("yolox-nano")), PlateOcr()
    seeds = TUNING_SEEDS if args.tune else HELD_BACK_SEEDS
    scenes = readings(assets.fetch("car-detection"), seeds, detector, ocr)
    if not args.tune:
        print(f"held-back seeds {seeds.start}–{seeds.stop - 1}, min_votes={MIN_VOTES} "
              f"min_confidence={MIN_CONFIDENCE}:", judge(scenes).line())
        return
    for truth, views in scenes:
        print(truth, [(r.plate, round(r.confidence, 2)) if r else None for r, _ in views])
    for min_votes in (1, 2, 3):
        for min_confidence in (0.5, 0.6, 0.7, 0.8, 0.9):
            print(f"min_votes={min_votes} min_confidence={min_confidence}:",
                  judge(scenes, min_votes, min_confidence).line())

if __name__ == "__main__":
    main()
