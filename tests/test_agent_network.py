"""Scenarios: the task behind the agent's proxy, with the agent's CA bundle and client
certificate, and on an Azure Stack Hub connection that names only its ARM URL."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from runner.emulator.process import Emulator
from tests.agent import SCHEMES, AgentLog, agent_environment, run_task
from tests.conftest import StartEmulator, mutating_calls
from tests.connect_proxy import ConnectProxy

APP, GROUP = "contoso-web", "rg-swap-demo"
SWAP = {"WebAppName": APP, "ResourceGroupName": GROUP, "SourceSlot": "staging"}
PROXY_USER, PROXY_PASSWORD = "build-agent", "pr0xy;p@ss%word"


def environment(
    emulator: Emulator, tmp_path: Path, scheme: str = "secret", **variables: str
) -> dict[str, str]:
    env = agent_environment(emulator.info, SWAP, tmp_path, scheme, debug=True)
    env.update(variables)
    return env


def behind(proxy: ConnectProxy, bypass: tuple[str, ...] = ()) -> dict[str, str]:
    """The variables the agent sets for a proxy configured with .proxy/.proxycredentials."""
    variables = {"AGENT_PROXYURL": proxy.url}
    if proxy.username:
        # Agent.ProxyPassword is a secret variable: it reaches the task as SECRET_<name>.
        variables.update(
            AGENT_PROXYUSERNAME=proxy.username, SECRET_AGENT_PROXYPASSWORD=proxy.password
        )
    if bypass:
        variables["AGENT_PROXYBYPASSLIST"] = json.dumps(list(bypass))
    return variables


def calls_during(emulator: Emulator, started: float) -> list[dict[str, Any]]:
    """What the task asked of the emulator (the test's own control calls left out)."""
    return [
        call
        for call in emulator.requests(since=started)
        if not str(call["path"]).startswith("/_emulator/")
    ]


def port_of(url: str) -> int:
    match = re.search(r":(\d+)/?$", url)
    assert match, url
    return int(match.group(1))


def visible(log: AgentLog) -> str:
    """The log as people read it: the agent masks what `task.setsecret` registered."""
    return "\n".join(line for line in log.text.splitlines() if "task.setsecret" not in line)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_call_goes_through_the_agents_proxy_with_its_credentials(
    emulator: Emulator, tmp_path: Path, scheme: str
) -> None:
    emulator.deploy(APP, "staging", "v2")
    with ConnectProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        env = environment(emulator, tmp_path, scheme, **behind(proxy))
        started = time.time()

        log = run_task(env, tmp_path)

    calls = calls_during(emulator, started)  # before the test's own look at the slots
    assert log.result == "Succeeded", log.text
    assert emulator.serving(APP, "production") == "v2"
    servers = {call["server"] for call in calls}
    assert {"main", f"{APP}/production", f"{APP}/staging"} <= servers
    if scheme == "oidc":
        assert [c for c in calls if c["path"].endswith("/oidctoken")]
    direct = [c for c in calls if c["client_port"] not in proxy.opened_ports]
    assert direct == [], "calls that went around the proxy"
    assert all(t.status == 200 for t in proxy.tunnels), proxy.tunnels
    assert f"Proxy: {proxy.url} as '{PROXY_USER}'" in log.stdout
    assert PROXY_PASSWORD in log.secrets
    assert PROXY_PASSWORD not in visible(log) and "p%40ss" not in visible(log)


def test_bypassed_hosts_are_called_directly_and_the_rest_through_the_proxy(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    staging = port_of(emulator.slot_url(APP, "staging"))
    with ConnectProxy() as proxy:
        env = environment(emulator, tmp_path, **behind(proxy, (rf"127\.0\.0\.1:{staging}/",)))
        started = time.time()

        log = run_task(env, tmp_path)

    calls = calls_during(emulator, started)
    assert log.result == "Succeeded", log.text
    to_staging = [c for c in calls if c["server"] == f"{APP}/staging"]
    others = [c for c in calls if c["server"] != f"{APP}/staging"]
    assert to_staging and others
    assert all(c["client_port"] not in proxy.opened_ports for c in to_staging)
    assert all(c["client_port"] in proxy.opened_ports for c in others)
    assert not [t for t in proxy.tunnels if t.target.endswith(f":{staging}")]
    assert "'staging'" in log.stdout and "serves version v1" in log.stdout


def test_a_proxy_that_wants_credentials_it_did_not_get_fails_clearly(
    emulator: Emulator, tmp_path: Path
) -> None:
    with ConnectProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        env = environment(emulator, tmp_path, AGENT_PROXYURL=proxy.url)

        log = run_task(env, tmp_path)

    assert log.result == "Failed"
    (error,) = log.errors
    assert f"proxy {proxy.url}" in error and "407" in error, log.text
    assert "Agent.ProxyUsername" in error and "Nothing was changed" in error
    assert "rejected the credentials" not in error
    assert {t.status for t in proxy.tunnels} == {407}
    assert mutating_calls(emulator) == []


def without_ca_trust(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}


@pytest.mark.parametrize("scheme", ["secret", "oidc"])
def test_a_ca_bundle_given_only_as_agent_cainfo_is_trusted(
    emulator: Emulator, tmp_path: Path, scheme: str
) -> None:
    emulator.deploy(APP, "staging", "v2")
    env = without_ca_trust(environment(emulator, tmp_path, scheme))
    env["AGENT_CAINFO"] = emulator.ca_cert

    log = run_task(env, tmp_path)

    assert log.result == "Succeeded", log.text
    assert f"Trusted CA certificates: {emulator.ca_cert} (Agent.CAInfo)" in log.stdout
    assert "'staging'" in log.stdout and "serves version v1" in log.stdout


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_untrusted_certificate_names_the_host_and_how_to_trust_it(
    emulator: Emulator, tmp_path: Path, scheme: str
) -> None:
    env = without_ca_trust(environment(emulator, tmp_path, scheme))

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    (error,) = log.errors
    host = emulator.url.split("://")[1].rstrip("/")
    assert f"The TLS certificate of {host} is not trusted" in error, log.text
    assert "--sslcacert" in error and "Agent.CAInfo" in error
    assert "rejected the credentials" not in error and "secret" not in error
    assert mutating_calls(emulator) == []


BAD_AGENT_SETTINGS = [
    ({"AGENT_PROXYURL": "ftp://proxy:21"}, "Agent.ProxyUrl is 'ftp://proxy:21'"),
    ({"AGENT_PROXYURL": "http://proxy:port"}, "not an http:// or https:// proxy address"),
    (
        {"AGENT_PROXYURL": "http://proxy:8080", "AGENT_PROXYBYPASSLIST": "contoso.com"},
        "not a JSON array of regular expressions",
    ),
    (
        {"AGENT_PROXYURL": "http://proxy:8080", "AGENT_PROXYBYPASSLIST": '["(unclosed"]'},
        "holds '(unclosed', which is not a regular expression",
    ),
    ({"AGENT_CLIENTCERT": "/nowhere/client.pem"}, "neither its key"),
]


@pytest.mark.parametrize(("variables", "expected"), BAD_AGENT_SETTINGS)
def test_a_wrong_agent_network_setting_is_named_before_any_call(
    emulator: Emulator, tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    log = run_task(environment(emulator, tmp_path, **variables), tmp_path)

    assert log.result == "Failed"
    assert expected in log.errors[0], log.text
    assert "Nothing was changed in Azure" in log.errors[0]
    assert emulator.requests() == []


def test_an_agent_cainfo_that_is_not_a_file_is_named(emulator: Emulator, tmp_path: Path) -> None:
    env = environment(emulator, tmp_path, AGENT_CAINFO=str(tmp_path / "missing.pem"))

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    assert "Agent.CAInfo names" in log.errors[0] and "missing.pem" in log.errors[0]
    assert emulator.requests() == []


def without_authority_and_audience(env: dict[str, str], connection_id: str) -> dict[str, str]:
    """An Azure Stack Hub connection as Azure DevOps keeps one made with only the hub's URL."""
    data_key = f"ENDPOINT_DATA_{connection_id}"
    data = json.loads(env[data_key])
    for key in ("environmentAuthorityUrl", "activeDirectoryServiceEndpointResourceId"):
        del data[key]
        env.pop(f"{data_key}_{key.upper()}")
    env[data_key] = json.dumps(data)
    return env


def test_an_azure_stack_connection_learns_its_authority_and_audience_from_arm(
    emulator: Emulator, tmp_path: Path
) -> None:
    emulator.deploy(APP, "staging", "v2")
    cid = emulator.info["service_connection_id"]
    env = without_authority_and_audience(environment(emulator, tmp_path), cid)

    log = run_task(env, tmp_path)

    assert log.result == "Succeeded", log.text
    assert (
        f"Azure Stack Hub: authority {emulator.url}, token audience "
        f"{emulator.arm_audience} (from {emulator.url}metadata/endpoints)."
    ) in log.stdout
    metadata = [c for c in emulator.requests() if c["path"] == "/metadata/endpoints"]
    assert [c["query"] for c in metadata] == [{"api-version": "2015-01-01"}]
    assert emulator.serving(APP, "production") == "v2"


def test_an_azure_stack_connection_with_its_authority_and_audience_asks_no_metadata(
    emulator: Emulator, tmp_path: Path
) -> None:
    log = run_task(environment(emulator, tmp_path), tmp_path)

    assert log.result == "Succeeded", log.text
    assert "Azure Stack Hub:" not in log.stdout
    assert not [c for c in emulator.requests() if c["path"] == "/metadata/endpoints"]


@pytest.mark.parametrize("group", [GROUP, ""], ids=["resource group given", "group found"])
def test_a_subscription_that_does_not_exist_is_reported_as_such(
    emulator: Emulator, tmp_path: Path, group: str
) -> None:
    missing = "99999999-0000-4000-8000-000000000009"
    info = dict(emulator.info, subscription_id=missing)
    env = agent_environment(info, {**SWAP, "ResourceGroupName": group}, tmp_path)

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    (error,) = log.errors
    assert f"Subscription '{missing}' of service connection" in error, log.text
    assert "was not found: Azure said SubscriptionNotFound: " in error
    assert "App Service" not in error
    assert mutating_calls(emulator) == []


CLIENT_CN, CLIENT_PASSWORD = "build-agent-01", "cl1ent;pass"


def agent_client_certificate(folder: Path) -> dict[str, Path]:
    """A company CA and a client certificate from it, as the agent's configuration takes them:
    ca.pem, client.pem, its key protected by the password, and both in client.pfx."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    now = datetime.now(timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder(issuer_name=name("Contoso CA"), subject_name=name("Contoso CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    client = (
        x509.CertificateBuilder(issuer_name=ca.subject, subject_name=name(CLIENT_CN))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    protect = serialization.BestAvailableEncryption(CLIENT_PASSWORD.encode())
    files = {
        "ca": ca.public_bytes(serialization.Encoding.PEM),
        "cert": client.public_bytes(serialization.Encoding.PEM),
        "key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protect
        ),
        "archive": pkcs12.serialize_key_and_certificates(b"agent", key, client, [ca], protect),
    }
    paths = {}
    for kind, content in files.items():
        paths[kind] = folder / f"agent-{kind}.{'pfx' if kind == 'archive' else 'pem'}"
        paths[kind].write_bytes(content)
    return paths


@pytest.mark.parametrize("form", ["pem and key", "archive"])
def test_the_agents_client_certificate_is_presented_on_every_call(
    start_emulator: StartEmulator, tmp_path: Path, form: str
) -> None:
    files = agent_client_certificate(tmp_path)
    emulator = start_emulator("--swap-seconds", "0.3", "--client-ca", str(files["ca"]))
    emulator.deploy(APP, "staging", "v2")
    variables = {
        "AGENT_CLIENTCERT": str(files["cert"]),
        "SECRET_AGENT_CLIENTCERTPASSWORD": CLIENT_PASSWORD,
    }
    if form == "archive":
        variables["AGENT_CLIENTCERTARCHIVE"] = str(files["archive"])
    else:
        variables["AGENT_CLIENTCERTKEY"] = str(files["key"])
    with ConnectProxy() as proxy:
        env = environment(emulator, tmp_path, "oidc", **variables, **behind(proxy))
        started = time.time()

        log = run_task(env, tmp_path)

    calls = calls_during(emulator, started)
    assert log.result == "Succeeded", log.text
    assert {c["server"] for c in calls} >= {"main", f"{APP}/production", f"{APP}/staging"}
    assert {c["client_certificate"] for c in calls} == {CLIENT_CN}
    assert all(c["client_port"] in proxy.opened_ports for c in calls)
    assert CLIENT_PASSWORD in log.secrets and CLIENT_PASSWORD not in visible(log)
    assert "PRIVATE KEY" not in visible(log)


def test_a_client_certificate_archive_the_password_does_not_open_is_named(
    emulator: Emulator, tmp_path: Path
) -> None:
    files = agent_client_certificate(tmp_path)
    env = environment(
        emulator,
        tmp_path,
        AGENT_CLIENTCERT=str(files["cert"]),
        AGENT_CLIENTCERTARCHIVE=str(files["archive"]),
        SECRET_AGENT_CLIENTCERTPASSWORD="not-the-password",
    )

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    (error,) = log.errors
    assert f"client certificate archive {files['archive']} cannot be opened" in error, log.text
    assert "--sslclientcertpassword" in error
    assert mutating_calls(emulator) == []


def test_a_client_certificate_the_server_does_not_accept_is_named(
    start_emulator: StartEmulator, tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    files = agent_client_certificate(tmp_path)
    other_ca = agent_client_certificate(tmp_path / "other")["ca"]
    emulator = start_emulator("--client-ca", str(other_ca))
    env = environment(
        emulator,
        tmp_path,
        AGENT_CLIENTCERT=str(files["cert"]),
        AGENT_CLIENTCERTKEY=str(files["key"]),
        SECRET_AGENT_CLIENTCERTPASSWORD=CLIENT_PASSWORD,
    )

    log = run_task(env, tmp_path)

    assert log.result == "Failed"
    (error,) = log.errors
    host = emulator.url.split("://")[1].rstrip("/")
    assert f"{host} refused the agent's TLS client certificate {files['cert']}" in error, log.text
    assert "rejected the credentials" not in error
