"""A test-side CKAN portal: a loopback HTTP server with the action API endpoints `matakota export --publish` uses
(`/api/3/action/package_show`, `package_create`, `package_patch`, `resource_create`, `resource_patch`,
`resource_update`), CKAN's JSON envelope and status codes, an API key check, multipart uploads kept in memory, and
datasets as CKAN shows them (`owner_org` the organisation's id, `organization` its name and id, tags and extras with
fields of CKAN's own)."""

from __future__ import annotations

import json
import threading
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/api/3/action/"
WRITES = ("package_create", "package_patch", "resource_create", "resource_patch", "resource_update")


class ActionError(Exception):
    def __init__(self, status: int, kind: str, message: str | dict):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def parse_body(content_type: str, body: bytes) -> tuple[dict, dict[str, tuple[str, bytes]]]:
    """(fields, files) of a JSON or multipart/form-data request body."""
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields, files = {}, {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if part.get_filename():
                files[name] = (part.get_filename(), data)
            else:
                fields[name] = data.decode()
        return fields, files
    return (json.loads(body) if body else {}), {}


class FakeCkan:
    """Datasets by name (each with its resources), uploads by resource id, and every call as (action, fields)."""

    def __init__(self, api_key: str, organization: str = "kota-semarang"):
        self.api_key, self.organization = api_key, organization
        self.organization_id = str(uuid.uuid4())
        self.datasets: dict[str, dict] = {}
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self.calls: list[tuple[str, dict]] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, answer = portal.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="fake-ckan", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    def handle(self, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        action = path.removeprefix(PREFIX) if path.startswith(PREFIX) else None
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            if action is None:
                raise ActionError(404, "Not Found Error", f"no API at {path}")
            key = headers.get("authorization") or headers.get("x-ckan-api-key")
            if key is not None and key != self.api_key:  # CKAN refuses an unknown token outright
                raise ActionError(403, "Authorization Error", "Access denied: invalid API token")
            if action in WRITES and key is None:
                raise ActionError(403, "Authorization Error", f"Access denied: not authorised to {action}")
            fields, files = parse_body(headers.get("content-type", ""), body)
            self.calls.append((action, fields))
            handler = getattr(self, f"_{action}", None)
            if handler is None:
                raise ActionError(400, "Bad Request", f"unknown action {action}")
            return 200, {"help": f"{self.url}{PREFIX}help_show?name={action}", "success": True,
                         "result": handler(fields, files)}
        except ActionError as error:
            return error.status, {"help": "", "success": False,
                                  "error": {"__type": error.kind, **({"message": error.message}
                                                                     if isinstance(error.message, str)
                                                                     else error.message)}}

    def _find(self, ref: str) -> dict:
        for dataset in self.datasets.values():
            if ref in (dataset["id"], dataset["name"]):
                return dataset
        raise ActionError(404, "Not Found Error", "Not found")

    def _resource(self, ref: str) -> tuple[dict, dict]:
        for dataset in self.datasets.values():
            for resource in dataset["resources"]:
                if resource["id"] == ref:
                    return dataset, resource
        raise ActionError(404, "Not Found Error", "Resource was not found.")

    def _package_show(self, fields, files):
        return self._find(fields.get("id", ""))

    def _package_create(self, fields, files):
        if fields.get("owner_org") != self.organization:
            raise ActionError(409, "Validation Error", {"owner_org": ["Organization does not exist"]})
        if fields.get("name") in self.datasets:
            raise ActionError(409, "Validation Error", {"name": ["That URL is already in use."]})
        dataset = {**fields, "id": str(uuid.uuid4()), "state": "active", "resources": []}
        self._as_ckan_shows(dataset)
        self.datasets[fields["name"]] = dataset
        return dataset

    def _package_patch(self, fields, files):
        dataset = self._find(fields.get("id", ""))
        dataset.update({k: v for k, v in fields.items() if k != "id"})
        self._as_ckan_shows(dataset)
        return dataset

    def _as_ckan_shows(self, dataset: dict) -> None:
        dataset["owner_org"] = self.organization_id
        dataset["organization"] = {"id": self.organization_id, "name": self.organization, "title": "Kota Semarang"}
        dataset["tags"] = [{**t, "id": t.get("id") or str(uuid.uuid4()), "state": "active"}
                           for t in dataset.get("tags", [])]
        dataset["extras"] = [{**e, "state": "active"} for e in dataset.get("extras", [])]

    def _store_upload(self, resource: dict, files: dict) -> None:
        if "upload" in files:
            name, data = files["upload"]
            self.uploads[resource["id"]] = (name, data)
            resource["url"] = f"{self.url}/dataset/{resource['package_id']}/resource/{resource['id']}/download/{name}"
            resource["url_type"] = "upload"

    def _resource_create(self, fields, files):
        dataset = self._find(fields.get("package_id", ""))
        resource = {**fields, "id": str(uuid.uuid4()), "package_id": dataset["id"]}
        self._store_upload(resource, files)
        dataset["resources"].append(resource)
        return resource

    def _resource_patch(self, fields, files):
        _, resource = self._resource(fields.get("id", ""))
        resource.update(fields)
        self._store_upload(resource, files)
        return resource

    def _resource_update(self, fields, files):
        dataset, resource = self._resource(fields.get("id", ""))
        kept = {"id": resource["id"], "package_id": dataset["id"]}
        resource.clear()
        resource.update({**fields, **kept})
        self._store_upload(resource, files)
        return resource
