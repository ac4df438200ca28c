"""Discovery, as the `azure-devops` client does it before its first call.

The client asks `GET {org}/_apis/ResourceAreas` where each area (core, pipelines checks, ...) is
served, then `OPTIONS {area url}/_apis` for the route templates and versions of every resource,
and only then builds the URL of the call it was asked for. The emulator serves every area at the
organization URL, as an Azure DevOps Server collection does.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Location(NamedTuple):
    id: str
    area: str
    resource_name: str
    route_template: str
    max_version: float = 7.1
    resource_version: int = 1


LOCATIONS = (
    Location("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas",
             "_apis/{resource}/{areaId}"),
    Location("00d9565f-ed9c-4a06-9a50-00e7896ccab4", "Location", "ConnectionData",
             "_apis/{resource}"),
    Location("603fe2ac-9723-48b9-88ad-09305aa6c6e1", "core", "projects",
             "_apis/{resource}/{*projectId}", resource_version=4),
    Location("e85f1c62-adfc-4b74-b618-11a150fb195e", "serviceendpoint", "endpoints",
             "{project}/_apis/{area}/{resource}/{endpointId}", resource_version=4),
    Location("28010c54-d0c0-4c89-a5b0-1c9e188b9fb7", "IMS", "Identities",
             "_apis/{resource}/{identityId}"),
    Location("8572b1fc-2482-47fa-8f74-7e3ed53ee54b", "distributedtask", "environments",
             "{project}/_apis/{area}/{resource}/{environmentId}"),
    Location("6c08ffbf-dbf1-4f9a-94e5-a1cbd47005e7", "distributedtask", "taskgroups",
             "{project}/_apis/{area}/{resource}/{taskGroupId}"),
    Location("86c8381e-5aee-4cde-8ae4-25c0c7f5eaea", "PipelinesChecks", "configurations",
             "{project}/_apis/pipelines/checks/{resource}/{id}"),
    Location("28e1305e-2afe-47bf-abaf-cbb0e6a91988", "pipelines", "pipelines",
             "{project}/_apis/{resource}/{pipelineId}"),
    Location("53df2d18-29ea-46a9-bee0-933540f80abf", "pipelines", "preview",
             "{project}/_apis/pipelines/{pipelineId}/{resource}"),
    Location("b5b9a4a4-e6cd-4096-853c-ab7d8b0c4eb2", "pipelinePermissions", "pipelinePermissions",
             "{project}/_apis/pipelines/{resource}/{resourceType}/{resourceId}"),
    Location("225f7195-f9c7-4d14-ab28-a83f7ff77e1f", "git", "repositories",
             "{project}/_apis/{area}/{resource}/{repositoryId}"),
)  # fmt: skip

# The areas whose clients ask for a location URL (resource_area_identifier in the client).
AREAS = {
    "79134c72-4a58-4b42-976c-04e7115f32bf": "core",
    "8a3d49b8-91f0-46ef-b33d-dda338c25db3": "IMS",
    "a81a0441-de52-4000-aa15-ff0e07bfbbaa": "pipelinePermissions",
    "4a933897-0488-45af-bd82-6fd3ad33f46a": "PipelinesChecks",
    "1814ab31-2f4f-4a9f-8761-f4d77dc5a5d7": "serviceendpoint",
    "a85b8835-c1a1-4aac-ae97-1c3d0ba72dbd": "distributedtask",
    "4e080c62-fa21-4fbc-8fef-2a10a2b38049": "git",
}


def locations_body() -> dict[str, Any]:
    value = [
        {
            "id": location.id,
            "area": location.area,
            "resourceName": location.resource_name,
            "routeTemplate": location.route_template,
            "resourceVersion": location.resource_version,
            "minVersion": 1.0,
            "maxVersion": location.max_version,
            "releasedVersion": "7.1",
        }
        for location in LOCATIONS
    ]
    return {"count": len(value), "value": value}


def resource_areas_body(organization_url: str) -> dict[str, Any]:
    value = [
        {"id": area_id, "name": name, "locationUrl": organization_url}
        for area_id, name in AREAS.items()
    ]
    return {"count": len(value), "value": value}


def resource_area_body(area_id: str, organization_url: str) -> dict[str, Any] | None:
    name = AREAS.get(area_id.lower())
    if name is None:
        return None
    return {"id": area_id.lower(), "name": name, "locationUrl": organization_url}
