"""Pure per-camera logic, no Ray and no I/O: tracker, zones, lines, parking, flood gauge, early warning, counts.
Everything takes `core.detections.Detections` and returns plain results; `camera.CameraAnalytics` wires them."""
