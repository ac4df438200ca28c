"""Scenarios: routing rules ("testing in production") on the emulator, as App Service applies
them: azure-mgmt-web sets the rule in production's config, new clients are split by its
percentage and pinned by the `x-ms-routing-name` cookie, the query parameter forces a route, and
the slot's own host name is never routed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import Experiments, RampUpRule, SiteConfig, SiteConfigResource

from tests.emulator_process import Emulator, emulator_for_sdk, web_client

GROUP = "rg-swap-demo"
APPS = ["web-split", "web-pin", "web-force", "web-refuse"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    seeds = [arg for app in APPS for arg in ("--app", f"{app}@{GROUP}:staging")]
    with emulator_for_sdk(tmp_path_factory.mktemp("emulator"), "--seed", "11", *seeds) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> WebSiteManagementClient:
    return web_client(emulator)


def set_rule(
    client: WebSiteManagementClient, emulator: Emulator, app: str, percentage: float | None
) -> None:
    """Route `percentage` % of new clients to staging; None removes every rule."""
    rules = []
    if percentage is not None:
        host = emulator.host_name(app, "staging")
        rules = [RampUpRule(name="staging", action_host_name=host, reroute_percentage=percentage)]
    config = SiteConfig(experiments=Experiments(ramp_up_rules=rules))
    client.web_apps.update_configuration(GROUP, app, SiteConfigResource(properties=config))


def rules_of(client: WebSiteManagementClient, app: str) -> list[RampUpRule]:
    """Production's routing rules, as azure-mgmt-web reads them."""
    config = client.web_apps.get_configuration(GROUP, app).properties
    experiments = config.experiments if config is not None else None
    return list(experiments.ramp_up_rules or []) if experiments is not None else []


def slot_of(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["slot"])


def get(
    emulator: Emulator,
    app: str,
    slot: str = "production",
    session: requests.Session | None = None,
    params: dict[str, str] | None = None,
) -> requests.Response:
    """A request from `session`'s browser, or from a new client without cookies."""
    browser = session or requests.Session()
    return browser.get(
        emulator.slot_url(app, slot), verify=emulator.ca_cert, timeout=5, params=params
    )


def test_azure_mgmt_web_sets_the_rule_and_400_new_clients_split_by_its_percentage(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-split"
    emulator.deploy(app, "staging", "v2")
    set_rule(client, emulator, app, 20)
    rules = rules_of(client, app)

    served = Counter(slot_of(get(emulator, app)) for _ in range(400))

    assert [(r.name, r.action_host_name, r.reroute_percentage) for r in rules] == [
        ("staging", emulator.host_name(app, "staging"), 20)
    ]
    assert abs(100 * served["staging"] / 400 - 20) <= 5, served
    counters = emulator.counters(app)
    assert counters["staging"]["routed"] == served["staging"]
    assert counters["production"]["requests"] == served["production"]


def test_a_new_client_is_pinned_by_its_cookie_until_the_rules_are_removed(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-pin"
    set_rule(client, emulator, app, 50)
    browsers = [requests.Session() for _ in range(20)]
    first = [slot_of(get(emulator, app, session=b)) for b in browsers]
    cookies = {b.cookies.get("x-ms-routing-name") for b in browsers}

    again = [[slot_of(get(emulator, app, session=b)) for _ in range(3)] for b in browsers]
    set_rule(client, emulator, app, 0)
    at_zero = [slot_of(get(emulator, app, session=b)) for b in browsers]
    newcomers = {slot_of(get(emulator, app)) for _ in range(20)}
    set_rule(client, emulator, app, None)
    without_rules = {slot_of(get(emulator, app, session=b)) for b in browsers}

    assert set(first) == {"production", "staging"}
    assert cookies == {"self", "staging"}
    assert again == [[slot] * 3 for slot in first]
    assert at_zero == first, "a 0 % rule still honours the cookies it pinned"
    assert newcomers == {"production"}
    assert without_rules == {"production"}
    assert "Set-Cookie" not in get(emulator, app).headers


def test_the_query_parameter_forces_a_route_and_pins_it_but_only_to_a_slot_with_a_rule(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-force"
    emulator.deploy(app, "staging", "v2")
    without_rule = slot_of(get(emulator, app, params={"x-ms-routing-name": "staging"}))
    set_rule(client, emulator, app, 0)
    browser = requests.Session()

    forced = get(emulator, app, session=browser, params={"x-ms-routing-name": "staging"})
    then = slot_of(get(emulator, app, session=browser))
    back = slot_of(get(emulator, app, session=browser, params={"x-ms-routing-name": "self"}))
    after = slot_of(get(emulator, app, session=browser))

    assert without_rule == "production"
    assert (slot_of(forced), forced.json()["version"]) == ("staging", "v2")
    assert forced.headers["Set-Cookie"].startswith("x-ms-routing-name=staging")
    assert (then, back, after) == ("staging", "production", "production")


def test_the_slots_own_host_name_is_never_routed(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-force"
    set_rule(client, emulator, app, 100)
    own = [get(emulator, app, "staging", params={"x-ms-routing-name": "self"}) for _ in range(5)]

    assert {slot_of(r) for r in own} == {"staging"}
    assert all("Set-Cookie" not in r.headers for r in own)
    assert slot_of(get(emulator, app)) == "staging"


def test_a_rule_app_service_could_not_apply_is_refused(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-refuse"
    wrong_host = SiteConfig(
        experiments=Experiments(
            ramp_up_rules=[
                RampUpRule(name="staging", action_host_name="nowhere:1", reroute_percentage=5)
            ]
        )
    )
    with pytest.raises(HttpResponseError) as refused:
        client.web_apps.update_configuration(GROUP, app, SiteConfigResource(properties=wrong_host))

    assert refused.value.status_code == 400
    assert "actionHostName 'nowhere:1'" in str(refused.value)
    assert rules_of(client, app) == []


def test_a_rule_naming_the_slot_host_as_az_derives_it_is_applied(
    emulator: Emulator, client: WebSiteManagementClient
) -> None:
    app = "web-refuse"
    production = client.web_apps.get(GROUP, app).properties
    assert production is not None and production.default_host_name is not None
    label, _, suffix = production.default_host_name.partition(".")
    derived = RampUpRule(
        name="staging", action_host_name=f"{label}-staging.{suffix}", reroute_percentage=100
    )
    config = SiteConfig(experiments=Experiments(ramp_up_rules=[derived]))
    client.web_apps.update_configuration(GROUP, app, SiteConfigResource(properties=config))

    assert slot_of(get(emulator, app)) == "staging"
    set_rule(client, emulator, app, None)
