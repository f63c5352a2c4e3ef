"""Publishing an open-data package to a CKAN portal through its action API (`ckanapi.RemoteCKAN`).

One CKAN dataset per kind (PREFIX-visits, …), updated every period: `package_show`, `package_create` the first
time only (later, `package_patch` when its description, licence, producer or keywords changed in the config; a
dataset of that name owned by another organisation is refused, never written to), then the period's resource is
created (`resource_create`, the CSV uploaded) or, when a resource of that name is there already, patched in place
(`resource_patch`): running twice makes no second resource.

    portal = CkanPortal("https://data.semarangkota.go.id", api_key, timeout_s=30)
    done = portal.publish(*ckan_fields(path, "visits", open_data))   # outputs/opendata.py
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
from ckanapi import CKANAPIError, NotAuthorized, NotFound, RemoteCKAN, ValidationError

from matakota.core import VERSION


class PublishError(RuntimeError):
    """Publishing failed; the message is one line that names the portal."""


class PortalUnreachable(PublishError):
    """No answer from the portal (DNS, connection, TLS, timeout)."""


class KeyRefused(PublishError):
    """The portal refused the API key (CKAN's 403 "Authorization Error")."""


class PortalRejected(PublishError):
    """The portal answered, but not with what was asked (a validation error, an unexpected answer)."""


@dataclass(frozen=True)
class Published:
    dataset: str  # the CKAN dataset's name
    resource_id: str
    resource: str  # the resource's name (the package's)
    created_dataset: bool  # the dataset was created by this call
    action: str  # "created" | "updated": the resource


class CkanPortal:
    def __init__(self, url: str, api_key: str, *, timeout_s: float = 30.0, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._ckan = RemoteCKAN(self.url, apikey=api_key, user_agent=f"matakota/{VERSION} (open data export)",
                                session=session)
        self._ckan.base_url = "api/3/action/"

    def _call(self, action: str, data: dict, upload: Path | None = None):
        try:
            if upload is None:
                return self._ckan.call_action(action, data, requests_kwargs={"timeout": self.timeout_s})
            with upload.open("rb") as file:
                return self._ckan.call_action(action, data, files={"upload": (upload.name, file)},
                                              requests_kwargs={"timeout": self.timeout_s})
        except NotAuthorized:
            raise KeyRefused(f"the portal {self.url} refused the API key ({action}: not authorised): check the key "
                             "and that its user may edit the organisation's datasets") from None
        except ValidationError as error:
            raise PortalRejected(f"the portal {self.url} rejected {action}: {_errors(error)}") from None
        except requests.RequestException as error:
            raise PortalUnreachable(f"the portal {self.url} is unreachable ({type(error).__name__}): "
                                    f"{_first_line(error)}") from None
        except NotFound:
            if action == "package_show":
                raise
            raise PortalRejected(f"the portal {self.url} found nothing to {action}") from None
        except CKANAPIError as error:
            raise PortalRejected(f"the portal {self.url} gave an unexpected answer to {action}: "
                                 f"{_first_line(error)[:300]}") from None

    def publish(self, dataset: dict, resource: dict, upload: Path) -> Published:
        """Make sure `dataset` exists (created with these fields the first time), then create or update its
        resource named `resource["name"]` with these fields and `upload` as its file."""
        created = False
        try:
            package = self._call("package_show", {"id": dataset["name"]})
        except NotFound:
            package = self._call("package_create", dataset)
            created = True
        else:
            owner = (package.get("organization") or {}).get("name")
            if owner != dataset["owner_org"]:
                raise PortalRejected(f"the portal {self.url} has a dataset {dataset['name']} of organisation "
                                     f"{owner!r}, not {dataset['owner_org']!r}: not publishing into it (choose "
                                     "another reports.open_data.dataset_prefix)")
            if changed := stale_metadata(package, dataset):
                package = {**package, **self._call("package_patch", {"id": package["id"], **changed})}
        same = [r for r in package.get("resources", []) if r.get("name") == resource["name"]]
        if same:
            done = self._call("resource_patch", {**resource, "id": same[0]["id"]}, upload)
        else:
            done = self._call("resource_create", {**resource, "package_id": package["id"]}, upload)
        return Published(package["name"], done["id"], resource["name"], created, "updated" if same else "created")


def stale_metadata(package: dict, dataset: dict) -> dict:
    """The fields of `dataset` the portal's `package` no longer matches (tags by name, extras by key and value; CKAN
    adds fields of its own to both)."""
    def comparable(key: str, value):
        if key == "tags":
            return sorted(t.get("name") for t in value or ())
        if key == "extras":
            return sorted((e.get("key"), e.get("value")) for e in value or ())
        return value
    return {k: v for k, v in dataset.items()
            if k not in ("name", "owner_org") and comparable(k, package.get(k)) != comparable(k, v)}


def _errors(error: ValidationError) -> str:
    detail = error.error_dict if isinstance(getattr(error, "error_dict", None), dict) else {}
    parts = [f"{k}: {v}" for k, v in detail.items() if k != "__type"]
    return "; ".join(parts) or "validation error"


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
