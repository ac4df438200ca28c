"""ARM resource bodies, shaped like Microsoft.Web's REST specification so SDKs deserialize them."""

from __future__ import annotations

from typing import Any

from runner.emulator.appservice.records import App, Slot, is_production
from runner.emulator.settings import (
    ARM_AUDIENCE,
    LOCATION,
    MSI_PRINCIPAL_ID,
    SUBSCRIPTION_NAME,
    TENANT_ID,
)

WEB = "providers/Microsoft.Web"
# A Windows web app, App Service's default: Microsoft's task refuses swap with preview on Linux.
KIND = "app"
SITE_CONFIG = {
    "numberOfWorkers": 1,
    "netFrameworkVersion": "v8.0",
    "windowsFxVersion": None,
    "linuxFxVersion": "",
    "use32BitWorkerProcess": False,
    "alwaysOn": False,
    "http20Enabled": True,
}


def app_id(subscription: str, app: App) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{app.resource_group}/{WEB}/sites/{app.name}"
    )


def site_id(subscription: str, app: App, slot: Slot) -> str:
    base = app_id(subscription, app)
    return base if is_production(slot.name) else f"{base}/slots/{slot.name}"


def site_name(app: App, slot: Slot) -> str:
    return app.name if is_production(slot.name) else f"{app.name}/{slot.name}"


def site(subscription: str, app: App, slot: Slot, scm_host: str) -> dict[str, Any]:
    production = is_production(slot.name)
    host = slot.host_name
    prepared = app.prepared
    target_swap_slot = (
        prepared.target if prepared and prepared.source.lower() == slot.name.lower() else None
    )
    return {
        "id": site_id(subscription, app, slot),
        "name": site_name(app, slot),
        "type": _site_type(slot),
        "kind": KIND,
        "location": LOCATION,
        "tags": {},
        "identity": _identity(),
        "properties": {
            "name": site_name(app, slot),
            "state": slot.state,
            "hostNames": [host],
            "repositorySiteName": app.name,
            "usageState": "Normal",
            "enabled": True,
            "enabledHostNames": [host, scm_host],
            "availabilityState": "Normal",
            "hostNameSslStates": [
                {"name": host, "sslState": "Disabled", "hostType": "Standard"},
                {"name": scm_host, "sslState": "Disabled", "hostType": "Repository"},
            ],
            "serverFarmId": f"/subscriptions/{subscription}/resourceGroups/{app.resource_group}"
            f"/{WEB}/serverfarms/{app.name}-plan",
            "reserved": False,
            "siteConfig": dict(SITE_CONFIG),
            "deploymentId": app.name if production else f"{app.name}__{slot.name}",
            "slotName": None if production else slot.name,
            "sku": "Standard",
            "targetSwapSlot": target_swap_slot,
            "clientAffinityEnabled": True,
            "httpsOnly": True,
            "outboundIpAddresses": "127.0.0.1",
            "resourceGroup": app.resource_group,
            "defaultHostName": host,
            "slotSwapStatus": slot.swap_status,
            "redundancyMode": "None",
            "publicNetworkAccess": "Enabled",
        },
    }


def generic_resource(subscription: str, app: App, slot: Slot) -> dict[str, Any]:
    """A site or slot as `GET /subscriptions/{sub}/resources` lists it."""
    return {
        "id": site_id(subscription, app, slot),
        "name": site_name(app, slot),
        "type": _site_type(slot),
        "kind": KIND,
        "location": "westeurope",
        "tags": {},
        "identity": _identity(),
    }


def site_config(subscription: str, app: App, slot: Slot) -> dict[str, Any]:
    properties: dict[str, Any] = {
        **SITE_CONFIG,
        "minTlsVersion": "1.2",
        "ftpsState": "FtpsOnly",
        "healthCheckPath": None,
        "autoSwapSlotName": None,
        "experiments": {"rampUpRules": []},
    }
    properties.update(slot.site_config)
    return _config(subscription, app, slot, "web", properties)


def app_settings(subscription: str, app: App, slot: Slot) -> dict[str, Any]:
    return _config(subscription, app, slot, "appsettings", dict(slot.app_settings))


def connection_strings(subscription: str, app: App, slot: Slot) -> dict[str, Any]:
    return _config(
        subscription,
        app,
        slot,
        "connectionstrings",
        {name: dict(value) for name, value in slot.connection_strings.items()},
    )


def slot_config_names(subscription: str, app: App) -> dict[str, Any]:
    return {
        "id": f"{app_id(subscription, app)}/config/slotConfigNames",
        "name": "slotConfigNames",
        "type": "Microsoft.Web/sites/config",
        "properties": {
            "appSettingNames": list(app.sticky_app_settings),
            "connectionStringNames": list(app.sticky_connection_strings),
            "azureStorageConfigNames": [],
        },
    }


def slot_differences(subscription: str, app: App, current: Slot, target: Slot) -> dict[str, Any]:
    """What a swap of `current` into `target` would change, as the portal's preview lists it."""
    differences = []
    kinds = (
        ("AppSetting", current.app_settings, target.app_settings, app.sticky_app_settings),
        (
            "ConnectionString",
            current.connection_strings,
            target.connection_strings,
            app.sticky_connection_strings,
        ),
    )
    for setting_type, mine, theirs, sticky in kinds:
        for name in sorted(set(mine) | set(theirs)):
            here, there = mine.get(name), theirs.get(name)
            if here == there:
                continue
            is_sticky = name in sticky
            differences.append(
                {
                    "id": f"{site_id(subscription, app, current)}/slotsdiffs/{setting_type}-{name}",
                    "name": f"{setting_type}-{name}",
                    "type": "Microsoft.Web/sites/slotsdiffs",
                    "properties": {
                        "level": "Warning" if is_sticky else "Information",
                        "settingType": setting_type,
                        "diffRule": "SettingsNotSwapped" if is_sticky else "SettingsWillBeSwapped",
                        "settingName": name,
                        "valueInCurrentSlot": _text(here),
                        "valueInTargetSlot": _text(there),
                        "description": (
                            f"Slot setting '{name}' stays with its slot."
                            if is_sticky
                            else f"Setting '{name}' will be swapped."
                        ),
                    },
                }
            )
    return {"value": differences, "nextLink": None}


def subscription(subscription_id: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription_id,
        "tenantId": TENANT_ID,
        "displayName": SUBSCRIPTION_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def resource_group(subscription_id: str, name: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{subscription_id}/resourceGroups/{name}",
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded"},
    }


def tenant() -> dict[str, Any]:
    return {
        "id": f"/tenants/{TENANT_ID}",
        "tenantId": TENANT_ID,
        "tenantCategory": "Home",
        "displayName": "Emulator Tenant",
        "defaultDomain": "emulator.onmicrosoft.com",
        "domains": ["emulator.onmicrosoft.com"],
    }


def cloud_metadata(url: str) -> dict[str, Any]:
    """`/metadata/endpoints`, which `az cloud register` reads to learn the cloud's endpoints."""
    return {
        "name": "Emulator",
        "portal": url,
        "resourceManager": url,
        "authentication": {
            "loginEndpoint": url,
            "audiences": [ARM_AUDIENCE, "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "graph": "https://graph.windows.net/",
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "gallery": "https://gallery.azure.com/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/"
        "arm-compute/quickstart-templates/aliases.json",
        "suffixes": {
            "storage": "core.windows.net",
            "keyVaultDns": "vault.azure.net",
            "sqlServerHostname": "database.windows.net",
            "acrLoginServer": "azurecr.io",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
        },
    }


def _site_type(slot: Slot) -> str:
    return "Microsoft.Web/sites" if is_production(slot.name) else "Microsoft.Web/sites/slots"


def _identity() -> dict[str, Any]:
    return {"type": "SystemAssigned", "tenantId": TENANT_ID, "principalId": MSI_PRINCIPAL_ID}


def _config(
    subscription: str, app: App, slot: Slot, name: str, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": f"{site_id(subscription, app, slot)}/config/{name}",
        "name": name,
        "type": "Microsoft.Web/sites/config",
        "location": LOCATION,
        "properties": properties,
    }


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.get("value")) if isinstance(value, dict) else str(value)
