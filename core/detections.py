"""The one detection value type every stage takes: the detector returns it, analytics consume it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# COCO class ids → names for the classes the city cares about; other ids keep their COCO name below.
COCO_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)
PERSON = 0
VEHICLES = (2, 3, 5, 7)  # car, motorcycle, bus, truck
DEFAULT_CLASSES = (0, 1, 2, 3, 5, 7)  # person, bicycle, car, motorcycle, bus, truck


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Detections:
    """Objects found in one frame: `xyxy` boxes in the source image's pixels, one row per object.

    `tracker_id` is -1 until a tracker assigns identities (`with_tracker_ids`).
    """

    xyxy: np.ndarray  # float32 [n, 4]: x0, y0, x1, y1
    confidence: np.ndarray  # float32 [n]
    class_id: np.ndarray  # int32 [n]
    tracker_id: np.ndarray = field(default=None)  # int64 [n]

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(xyxy)
        tracker = np.full(n, -1, np.int64) if self.tracker_id is None else self.tracker_id
        columns = {
            "xyxy": xyxy,
            "confidence": np.asarray(self.confidence, dtype=np.float32).reshape(-1),
            "class_id": np.asarray(self.class_id, dtype=np.int32).reshape(-1),
            "tracker_id": np.asarray(tracker, dtype=np.int64).reshape(-1),
        }
        for name, column in columns.items():
            if len(column) != n:
                raise ValueError(f"Detections.{name} has {len(column)} rows, xyxy has {n}")
            object.__setattr__(self, name, _frozen(column))

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> Detections:
        """Select rows by boolean mask, index array or slice."""
        return Detections(self.xyxy[index], self.confidence[index], self.class_id[index], self.tracker_id[index])

    def scaled(self, factor: float) -> Detections:
        """The boxes in pixels `factor` times larger (an image detected at a reduced size, mapped back)."""
        return self if factor == 1.0 else Detections(self.xyxy * factor, self.confidence, self.class_id, self.tracker_id)

    def with_tracker_ids(self, tracker_id: np.ndarray) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, tracker_id)

    def of_classes(self, classes) -> Detections:
        return self[np.isin(self.class_id, np.asarray(tuple(classes), dtype=np.int32))]

    @property
    def anchors(self) -> np.ndarray:
        """Bottom-centre of each box (where a person stands or a car touches the ground), float32 [n, 2]."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    @property
    def centers(self) -> np.ndarray:
        return (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2

    def to_json(self) -> list[dict]:
        return [
            {
                "label": label_of(int(c)),
                "class_id": int(c),
                "score": round(float(s), 4),
                "box": [round(float(v), 1) for v in box],
                **({"track_id": int(t)} if t >= 0 else {}),
            }
            for box, s, c, t in zip(self.xyxy, self.confidence, self.class_id, self.tracker_id)
        ]


def label_of(class_id: int) -> str:
    return COCO_NAMES[class_id] if 0 <= class_id < len(COCO_NAMES) else str(class_id)


class ClassSet:
    """A set of class ids with a fast vectorised membership test (a lookup table; np.isin is ~30 µs)."""

    SIZE = 1024  # class ids beyond this are never members

    def __init__(self, classes) -> None:
        self.classes = tuple(int(c) for c in classes)
        self._table = np.zeros(self.SIZE + 2, dtype=bool)  # entry i + 1 answers class i
        self._table[[c + 1 for c in self.classes if 0 <= c < self.SIZE]] = True

    def mask(self, class_id: np.ndarray) -> np.ndarray:
        return np.take(self._table, class_id + 1, mode="clip")  # negative/huge ids land on False ends
