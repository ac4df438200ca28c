"""What the emulated organization holds before anyone sets anything up: one project with one
Azure Repos repository, the emulator's own AzureRM connection in each scheme (plus two that the
task cannot use), and a few people and a group to name as approvers."""

from __future__ import annotations

from typing import Any, NamedTuple

from runner.emulator.settings import (
    CLIENT_ID,
    MSI_CLIENT_ID,
    ORGANIZATION,
    PROJECT,
    PROJECT_ID,
    SERVICE_CONNECTION_ID,
    SERVICE_CONNECTION_NAME,
    SUBSCRIPTION_ID,
    SUBSCRIPTION_NAME,
    TENANT_ID,
)

DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
DEVOPS_PAT = "emulator-devops-pat"
REPOSITORY_ID = "c1000000-0000-4000-8000-0000000000c1"
REPOSITORY_NAME = "emulator-repo"
ARM_URL = "https://management.azure.com/"


class Person(NamedTuple):
    id: str
    display_name: str
    mail: str  # for a group: its account name

    @property
    def is_group(self) -> bool:
        return "@" not in self.mail


CALLER = Person("f0000000-0000-4000-8000-00000000000f", "Emulator Admin", "admin@contoso.example")
PEOPLE = (
    CALLER,
    Person("c0000000-0000-4000-8000-00000000000c", "Alice Approver", "alice@contoso.example"),
    Person("d0000000-0000-4000-8000-00000000000d", "Bob Builder", "bob@contoso.example"),
    Person("e0000000-0000-4000-8000-00000000000e", "Release Approvers", "Release Approvers"),
)


class Connection(NamedTuple):
    id: str
    name: str
    type: str
    scheme: str
    parameters: dict[str, str]


CONNECTIONS = (
    Connection(
        SERVICE_CONNECTION_ID,
        SERVICE_CONNECTION_NAME,
        "azurerm",
        "WorkloadIdentityFederation",
        {"serviceprincipalid": CLIENT_ID, "tenantid": TENANT_ID},
    ),
    Connection(
        "41000000-0000-4000-8000-000000000041",
        "emulator-connection-secret",
        "azurerm",
        "ServicePrincipal",
        {"serviceprincipalid": CLIENT_ID, "tenantid": TENANT_ID, "authenticationType": "spnKey"},
    ),
    Connection(
        "42000000-0000-4000-8000-000000000042",
        "emulator-connection-certificate",
        "azurerm",
        "ServicePrincipal",
        {
            "serviceprincipalid": CLIENT_ID,
            "tenantid": TENANT_ID,
            "authenticationType": "spnCertificate",
        },
    ),
    Connection(
        "43000000-0000-4000-8000-000000000043",
        "emulator-connection-msi",
        "azurerm",
        "ManagedServiceIdentity",
        {"tenantid": TENANT_ID, "msiclientId": MSI_CLIENT_ID},
    ),
    Connection(
        "44000000-0000-4000-8000-000000000044",
        "emulator-publish-profile",
        "azurerm",
        "PublishProfile",
        {"tenantid": TENANT_ID},
    ),
    Connection(
        "45000000-0000-4000-8000-000000000045",
        "github",
        "github",
        "PersonalAccessToken",
        {},
    ),
)


def identity_ref(person: Person) -> dict[str, Any]:
    return {"id": person.id, "displayName": person.display_name, "uniqueName": person.mail}


def identity(person: Person) -> dict[str, Any]:
    """An `_apis/identities` entry: a user of the tenant, or a project group."""
    if person.is_group:
        account = f"[{PROJECT}]\\{person.mail}"
        return {
            "id": person.id,
            "descriptor": f"Microsoft.TeamFoundation.Identity;S-1-9-1551374245-{person.id[:8]}",
            "subjectDescriptor": f"vssgp.{person.id.replace('-', '')}",
            "providerDisplayName": account,
            "isActive": True,
            "isContainer": True,
            "members": [],
            "memberOf": [],
            "memberIds": [],
            "properties": {
                "SchemaClassName": {"$type": "System.String", "$value": "Group"},
                "Account": {"$type": "System.String", "$value": account},
                "ScopeId": {"$type": "System.Guid", "$value": PROJECT_ID},
            },
            "resourceVersion": 2,
            "metaTypeId": 255,
        }
    return {
        "id": person.id,
        "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{TENANT_ID}\\{person.mail}",
        "subjectDescriptor": f"aad.{person.id.replace('-', '')}",
        "providerDisplayName": person.display_name,
        "isActive": True,
        "isContainer": False,
        "members": [],
        "memberOf": [],
        "memberIds": [],
        "properties": {
            "SchemaClassName": {"$type": "System.String", "$value": "User"},
            "Account": {"$type": "System.String", "$value": person.mail},
            "Mail": {"$type": "System.String", "$value": person.mail},
        },
        "resourceVersion": 2,
        "metaTypeId": 0,
    }


def find_people(text: str) -> list[Person]:
    """The General search: a mail or account name, a display name, or `[project]\\group`."""
    wanted = text.strip().lower()
    found = []
    for person in PEOPLE:
        names = {person.mail.lower(), person.display_name.lower()}
        if person.is_group:
            names.add(f"[{PROJECT}]\\{person.mail}".lower())
        if wanted in names:
            found.append(person)
    return found


def person_by_id(person_id: str) -> Person | None:
    return next((p for p in PEOPLE if p.id == person_id.lower()), None)


def project_body(url: str) -> dict[str, Any]:
    return {
        "id": PROJECT_ID,
        "name": PROJECT,
        "description": "The emulator's project",
        "url": f"{url}_apis/projects/{PROJECT_ID}",
        "state": "wellFormed",
        "revision": 11,
        "visibility": "private",
        "lastUpdateTime": "2026-01-01T00:00:00Z",
        "defaultTeam": {"id": "51000000-0000-4000-8000-000000000051", "name": f"{PROJECT} Team"},
    }


def project_reference() -> dict[str, str]:
    return {"id": PROJECT_ID, "name": PROJECT}


def is_project(text: str) -> bool:
    return text.lower() in (PROJECT, PROJECT_ID)


def endpoint_body(connection: Connection, url: str) -> dict[str, Any]:
    """A service endpoint as the list call answers it: secrets never leave the service."""
    body: dict[str, Any] = {
        "id": connection.id,
        "name": connection.name,
        "type": connection.type,
        "url": ARM_URL if connection.type == "azurerm" else "https://github.com",
        "createdBy": identity_ref(CALLER),
        "description": "",
        "authorization": {"scheme": connection.scheme, "parameters": dict(connection.parameters)},
        "isShared": False,
        "isReady": True,
        "owner": "Library",
        "serviceEndpointProjectReferences": [
            {"projectReference": project_reference(), "name": connection.name}
        ],
    }
    if connection.type == "azurerm":
        body["data"] = {
            "subscriptionId": SUBSCRIPTION_ID,
            "subscriptionName": SUBSCRIPTION_NAME,
            "environment": "AzureCloud",
            "scopeLevel": "Subscription",
            "creationMode": "Manual",
        }
    else:
        body["data"] = {}
    return body


def repository_body(url: str) -> dict[str, Any]:
    base = f"{url}{PROJECT_ID}/_apis/git/repositories/{REPOSITORY_ID}"
    return {
        "id": REPOSITORY_ID,
        "name": REPOSITORY_NAME,
        "url": base,
        "project": project_reference(),
        "defaultBranch": "refs/heads/main",
        "size": 0,
        "remoteUrl": f"{url}{PROJECT}/_git/{REPOSITORY_NAME}",
        "webUrl": f"{url}{PROJECT}/_git/{REPOSITORY_NAME}",
    }


def organization_url(server_url: str) -> str:
    """`https://127.0.0.1:PORT/emulator-org/`, the organization as `dev.azure.com/{org}/`."""
    return f"{server_url}{ORGANIZATION}/"
