"""A started parking violation's evidence package, built in the shard from the frame at the limit and the
`CaseMaterial` its analytics kept (analytics/case_evidence.py), and sent with the event as `case`: the store keeps
it for `store.case_retention_days`, apart from ordinary snapshots (docs/architecture.md, "Parking cases and plates")."""

from __future__ import annotations

import logging

from matakota.analytics.case_evidence import CaseFacts, build_package, case_files
from matakota.analytics.parking import CaseMaterial
from matakota.config import CameraConfig
from matakota.config.evidence import EvidenceConfig, EvidenceKeyError
from matakota.core.events import Event

log = logging.getLogger("matakota.cases")


class CaseSigner:
    """The evidence key (config/evidence.py), read once. Without one, packages are made unsigned: they fail
    `matakota evidence verify`, each is counted (`unsigned`, exported as matakota_evidence_unsigned_total), and the
    shard says so once, when its first camera with a parking rule starts. (Kubernetes never gets here: the key is a
    required Secret, so a pod without it does not start; a local demo without a key goes on, visibly.)"""

    def __init__(self, config: EvidenceConfig) -> None:
        self.key_id = config.key_id
        self.unsigned = 0  # packages made without a key
        self.problem: str | None = None
        self._warned = False
        try:
            self.key: bytes | None = config.key()
        except EvidenceKeyError as error:
            self.key, self.problem = None, str(error)

    def warn_unsigned(self, camera: str) -> None:
        """Log, once, that this camera's (and every later one's) parking evidence will be unsigned, and why."""
        if self.key is None and not self._warned:
            self._warned = True
            log.warning("camera %s: parking evidence will be unsigned, failing verification (counted in "
                        "matakota_evidence_unsigned_total): %s", camera, self.problem)


def case_record(event: Event, material: CaseMaterial, frame, camera: CameraConfig, signer: CaseSigner,
                people=(), run: str | None = None) -> dict:
    """{facts for the store's case row, `files`: name → bytes} of one started violation; `run`: the camera's
    analytics run (a case from another run may continue an open one: store/cases.py)."""
    payload = event.payload
    rule = {"limit_s": payload.get("limit_s"), "grace_s": payload.get("grace_s"), **payload.get("sign", {})}
    facts = CaseFacts(event.id, event.incident_id, event.camera, event.site, camera.location_json,
                      payload.get("zone", event.key), payload.get("class", "vehicle"), payload.get("plate", "unread"),
                      float(payload.get("plate_confidence", 0.0)), event.start,
                      payload.get("counted_since", event.start) + rule["limit_s"] + (rule["grace_s"] or 0.0),
                      rule, camera.analytics.timezone)
    if signer.key is None:
        signer.unsigned += 1
    files = case_files(facts, frame, event.box, material.limit_photo_t, material.arrival_jpeg, material.arrival_box,
                       material.arrival_t, material.plate_image, people)
    return {"event_id": event.id, "incident_id": event.incident_id, "camera": event.camera, "site": event.site,
            "zone": facts.zone, "plate": facts.plate, "plate_confidence": facts.plate_confidence,
            "class": facts.vehicle_class, "start": event.start, "limit_t": facts.limit_t, "run": run,
            "box": None if event.box is None else list(event.box),
            "files": build_package(facts, files, signer.key, signer.key_id)}
