"""The HTTP API ingress (FastAPI on Serve): what downstream services call."""


import logging
from contextlib import asynccontextmanager

import ray
from fastapi import Body, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from ray import serve
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from matakota.actors.names import EVENT_SINK_NAME, NAMESPACE, SUPERVISOR_NAME
from matakota.actors.redact import Redactor
from matakota.actors.sources import source_kind
from matakota.actors.supervisor import CameraError
from matakota.cluster import VERSION
from matakota.cluster.config import ApiConfig, CameraConfig
from matakota.cluster.store import open_store
from matakota.cluster.store.config import StoreConfig
from matakota.serve.data_api import router as data_router
from matakota.serve.ui import router as ui_router
from matakota.models.frames import FrameBatch
from matakota.serve.auth import Tokens, configured_tokens, require
from matakota.serve.images import ImageError, decode_image

log = logging.getLogger("matakota.api")

IMAGE_TYPES = ("image/jpeg", "image/png")
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
        },
    }
}


class Detection(BaseModel):
    label: str = Field(description="COCO class name", examples=["person"])
    class_id: int = Field(description="COCO class id", examples=[0])
    score: float = Field(description="objectness × class probability", examples=[0.87])
    box: list[float] = Field(description="x0, y0, x1, y1 in the image's pixels", examples=[[312.0, 40.5, 401.2, 380.0]])


class DetectResponse(BaseModel):
    width: int
    height: int
    model: str
    detections: list[Detection]


class Health(BaseModel):
    status: str
    version: str
    model: str
    provider: str = Field(description="ONNX Runtime execution provider in use")
    batches: dict[int, int] = Field(description="inference batches run so far, by number of frames")


class Problem(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="where in the request", examples=[["body", "analytics", "fps"]])
    msg: str
    type: str


class InputProblem(BaseModel):
    """422: a message, or one entry per bad field (the input itself is never echoed: URLs carry passwords)."""

    detail: str | list[FieldProblem]


class CameraStatus(BaseModel):
    id: str
    site: str
    url: str = Field(description="camera URL with the password redacted")
    state: str = Field(description="assigning, connecting, online, offline or error", examples=["online"])
    reason: str = Field("", description="why the camera is not online (redacted)")
    shard: str | None = Field(None, description="the CameraShard actor that owns it")
    fps_in: float = Field(0.0, description="frames decoded per second")
    fps_analysed: float = Field(0.0, description="frames analysed per second")
    drops: int = Field(0, description="frames dropped: overwritten, late or refused by backpressure")
    last_frame_age_s: float | None = Field(None, description="seconds since the last decoded frame")
    latency_p50_s: float | None = Field(None, description="decoded → detections back, median")
    latency_p99_s: float | None = Field(None, description="decoded → detections back, 99th percentile")
    frames_decoded: int = 0
    frames_analysed: int = 0
    detections: int = Field(0, description="objects detected so far")
    reconnects: int = 0
    stalls: int = 0
    occupancy: dict[str, int] = Field(default_factory=dict, description="people now in each zone")


class LatestDetections(BaseModel):
    camera: str
    pts_s: float = Field(description="stream timestamp of the analysed frame")
    frame_time: float = Field(description="when the frame was decoded (epoch seconds)")
    width: int
    height: int
    detections: list[Detection]


app = FastAPI(
    title="matakota",
    version=VERSION,
    description="City-scale CCTV analytics: detections, cameras, counts and events.",
)
READ = [Depends(require("read"))]
ADMIN = [Depends(require("admin"))]
AUTH_RESPONSES = {401: {"model": Problem}, 403: {"model": Problem}}
# Paths that `api.open_paths` may open (served without a token); everything else always needs one.
OPENABLE_PATHS = frozenset({"/healthz"})
# JSON bodies (camera add/change) are small: a camera with zones is a few kB.
MAX_JSON_BODY_BYTES = 1 << 20
DETECT_PATH = "/v1/detect"  # reads its own body, against api.max_body_bytes (images)


class BodyLimit:
    """ASGI middleware: a request body over the limit is refused with 413 before FastAPI parses it.

    Bodies are read in full (up to the limit) and replayed, so the route sees them unchanged; /v1/detect
    streams its own, larger, image body and is left alone.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or scope["path"] == DETECT_PATH:
            return await self.app(scope, receive, send)
        limit = getattr(scope["app"].state, "max_json_body_bytes", MAX_JSON_BODY_BYTES) if "app" in scope else \
            MAX_JSON_BODY_BYTES
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await self._too_large(scope, send, f"body is {int(declared)} bytes; the limit is {limit}")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client gone
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                return await self._too_large(scope, send, f"body exceeds the limit of {limit} bytes")
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect, as Starlette expects
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(scope, send, detail: str) -> None:
        async def nothing():
            return {"type": "http.disconnect"}

        await JSONResponse({"detail": detail}, status_code=413)(scope, nothing, send)


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each bad field, without echoing the input (camera URLs carry passwords)."""
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse({"detail": problems}, status_code=422)


app.add_middleware(BodyLimit)
app.include_router(data_router, dependencies=READ, responses=AUTH_RESPONSES)
app.include_router(ui_router)  # the operator page; it holds no data, its calls carry the token


class SinkFeed:
    """The live stream's source: the EventSink actor, looked up when a page connects (it may start later)."""

    async def poll(self, after, timeout_s, limit):
        try:
            sink = ray.get_actor(EVENT_SINK_NAME, namespace=NAMESPACE)
        except ValueError:
            raise HTTPException(503, "no event sink is running (start a fleet)") from None
        return await sink.poll.remote(after, timeout_s, limit)


async def call_supervisor(method: str, *args):
    """Call the fleet supervisor; 503 while there is none (or it is restarting), 4xx for a refused change."""
    try:
        supervisor = ray.get_actor(SUPERVISOR_NAME, namespace=NAMESPACE)
    except ValueError:
        raise HTTPException(503, "no fleet is running (start one with `matakota up` or `matakota demo`)") from None
    try:
        return await getattr(supervisor, method).remote(*args)
    except (CameraError, ray.exceptions.RayTaskError) as error:
        cause = getattr(error, "cause", error)
        if isinstance(cause, CameraError):
            raise HTTPException(cause.status, str(cause)) from None
        # Only the type is logged: an actor's error text may quote a camera URL.
        log.error("fleet supervisor %s failed: %s", method, type(cause).__name__)
        raise HTTPException(500, f"the fleet supervisor failed ({type(cause).__name__})") from None
    except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
        raise HTTPException(503, "the fleet supervisor is restarting; retry shortly", headers={"Retry-After": "2"}) from None


@asynccontextmanager
async def scrubbed(url: str | None):
    """Errors answered while handling a request that carries a camera URL never quote its password
    (whatever the layer below put in the message)."""
    try:
        yield
    except HTTPException as error:
        if url and isinstance(error.detail, str):
            error.detail = Redactor(url)(error.detail)
        raise


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def image_bytes(request: Request, limit: int) -> bytes:
    """The uploaded image: a raw JPEG/PNG body, or the `image` field of a multipart form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (*IMAGE_TYPES, "multipart/form-data"):
        raise HTTPException(
            415, f"unsupported content type {content_type or '(none)'!r}: send image/jpeg, image/png "
            "or multipart/form-data with an 'image' field"
        )
    body = await read_body(request, limit)
    if content_type != "multipart/form-data":
        return body

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except Exception as error:  # python-multipart raises several types for malformed forms
        raise HTTPException(400, f"malformed multipart body: {error}") from None
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "multipart body has no file field 'image'")
    return await upload.read()


@serve.deployment(name="Api")
@serve.ingress(app)
class Api:
    def __init__(self, detector: DeploymentHandle, config: dict, model_name: str, store: dict,
                 tokens: list | None = None) -> None:
        self.detector = detector
        self.config = ApiConfig.model_validate(config)
        self.model_name = model_name
        # Tokens are loaded now, not on the first request: a bad tokens file fails the replica's start-up.
        # `tokens` are the digests the application builder read; this replica's own file (if any) adds to them.
        own = configured_tokens()
        app.state.tokens = own if tokens is None else Tokens.from_export(tokens).merged(own)
        open_paths = set(self.config.open_paths)
        if open_paths - OPENABLE_PATHS:
            log.warning("api.open_paths: %s cannot be opened (only %s); they keep needing a token",
                        sorted(open_paths - OPENABLE_PATHS), sorted(OPENABLE_PATHS))
        app.state.open_paths = frozenset(open_paths & OPENABLE_PATHS)
        app.state.max_json_body_bytes = min(self.config.max_body_bytes, MAX_JSON_BODY_BYTES)
        app.state.max_sse_clients = self.config.max_sse_clients
        store_config = StoreConfig.model_validate(store)
        app.state.store = open_store(store_config.url, store_config.snapshot_dir)
        app.state.event_feed = SinkFeed()

    @app.post(
        "/v1/detect",
        response_model=DetectResponse,
        openapi_extra=UPLOAD_BODY,
        responses={code: {"model": Problem} for code in (400, 401, 403, 413, 415, 503)},
        summary="Detect people and vehicles in one image",
        dependencies=READ,
    )
    async def detect(self, request: Request) -> DetectResponse:
        data = await image_bytes(request, self.config.max_body_bytes)
        try:
            image = decode_image(data, self.config.max_image_pixels)
        except ImageError as error:
            raise HTTPException(error.status, str(error)) from None
        try:
            [detections] = await self.detector.detect.remote(FrameBatch.from_images([image]))
        except BackPressureError:
            raise HTTPException(503, "detector overloaded; retry shortly", headers={"Retry-After": "1"}) from None
        height, width = image.shape[:2]
        return DetectResponse(width=width, height=height, model=self.model_name, detections=detections.to_json())

    @app.get("/healthz", response_model=Health, responses={503: {"model": Problem}, **AUTH_RESPONSES},
             dependencies=READ, summary="Liveness and model; open without a token unless api.open_paths says otherwise")
    async def healthz(self):
        try:
            detector = await self.detector.health.remote()
        except Exception as error:  # any failure to reach the detector is "not healthy"
            log.warning("health check: detector unreachable: %s", type(error).__name__)
            return JSONResponse({"detail": "detector unavailable"}, status_code=503)
        return Health(status="ok", version=VERSION, **detector)

    @app.get("/v1/cameras", response_model=list[CameraStatus], dependencies=READ,
             responses={503: {"model": Problem}, **AUTH_RESPONSES},
             summary="Every camera with its state and rates")
    async def cameras(self) -> list[CameraStatus]:
        try:
            return await call_supervisor("cameras")
        except HTTPException as error:
            if error.status_code == 503 and "no fleet" in error.detail:
                return []
            raise

    @app.get(
        "/v1/cameras/{camera_id}/detections/latest",
        response_model=LatestDetections,
        responses={404: {"model": Problem}, 503: {"model": Problem}, **AUTH_RESPONSES},
        dependencies=READ,
        summary="The detections of the camera's most recently analysed frame",
    )
    async def latest_detections(self, camera_id: str) -> LatestDetections:
        latest = await call_supervisor("latest_detections", camera_id)
        if latest is None:
            known = camera_id in {c["id"] for c in await call_supervisor("cameras")}
            raise HTTPException(404, f"camera {camera_id!r} has no analysed frame yet" if known
                                else f"no camera {camera_id!r}")
        return latest

    @app.post("/v1/cameras", status_code=201, response_model=CameraStatus, dependencies=ADMIN,
              responses={**{code: {"model": Problem} for code in (401, 403, 409, 413, 503)},
                         422: {"model": InputProblem}},
              summary="Add a camera; it starts on a shard with room")
    async def add_camera(self, camera: CameraConfig) -> CameraStatus:
        async with scrubbed(camera.url):
            try:  # schemes no fleet accepts are refused here, fleet or not (local files: the fleet decides)
                source_kind(camera.url, allow_files=True)
            except ValueError as error:
                raise HTTPException(422, f"url: {error}") from None
            return await call_supervisor("add_camera", camera.model_dump(mode="json"))

    @app.patch("/v1/cameras/{camera_id}", response_model=CameraStatus, dependencies=ADMIN,
               responses={**{code: {"model": Problem} for code in (401, 403, 404, 413, 503)},
                          422: {"model": InputProblem}},
               summary="Change a camera's config (analysis rate, zones, decode mode…), applied live")
    async def update_camera(self, camera_id: str, changes: dict = Body(examples=[{"analytics": {"fps": 5}}])):
        url = changes.get("url")
        async with scrubbed(url if isinstance(url, str) else None):
            return await call_supervisor("update_camera", camera_id, changes)

    @app.delete("/v1/cameras/{camera_id}", status_code=204, dependencies=ADMIN,
                responses={code: {"model": Problem} for code in (401, 403, 404, 503)}, summary="Remove a camera")
    async def remove_camera(self, camera_id: str) -> Response:
        await call_supervisor("remove_camera", camera_id)
        return Response(status_code=204)

    @app.get("/v1/fleet", dependencies=READ, responses={503: {"model": Problem}, **AUTH_RESPONSES},
             summary="Shards, nodes, cameras per shard, load, last rebalance, failovers")
    async def fleet(self) -> dict:
        return await call_supervisor("fleet_view")
