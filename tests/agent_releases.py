"""Which Node an Azure Pipelines agent release runs a task with, as the agent decides it.

From microsoft/azure-pipelines-agent: the service gives a task only to agents at or above its
`minimumAgentVersion` (a demand on Agent.Version); the agent knows the handlers its release
knows, ignores the rest of `execution`, and takes the one it ranks first (TaskManager.cs,
`HandlerData.Priority`); the handler names the Node folder in its externals (NodeHandler.cs), whose
versions come from src/Misc/externals.sh at that release's tag. Node24 runs Node 24 only when the
knob AGENT_USE_NODE24_WITH_HANDLER_DATA is on; otherwise the agent runs it with node20_1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class TaskRefused(Exception):
    """The agent (or the service, for it) would not run this task; the message says why."""


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class AgentRelease:
    version: str
    handlers: tuple[str, ...]  # the Node handlers this release knows, the one it prefers first
    nodes: Mapping[str, str]  # handler -> version of the Node it runs that handler with
    node24_knob: bool = False
    label: str = field(default="", compare=False)

    def pick(self, manifest: Mapping[str, Any]) -> tuple[str, str, str]:
        """(handler, target, Node version) this agent runs the task with, or TaskRefused."""
        minimum = str(manifest.get("minimumAgentVersion", "0.0.0"))
        if parse_version(minimum) > parse_version(self.version):
            raise TaskRefused(
                f"the task needs agent {minimum} or later; this agent is {self.version}"
            )
        execution = manifest.get("execution", {})
        known = [handler for handler in self.handlers if handler in execution]
        if not known:
            raise TaskRefused(f"agent {self.version} knows none of {sorted(execution)}")
        handler = known[0]
        node = self.nodes[handler]
        if handler == "Node24" and not self.node24_knob:
            node = self.nodes["Node20_1"]
        return handler, str(execution[handler]["target"]), node


# The first release with Node10 (externals: node 6.10.3, node10 10.13.0).
AGENT_2_144_0 = AgentRelease(
    "2.144.0", ("Node10", "Node"), {"Node10": "10.13.0", "Node": "6.10.3"}, label="2.144.0"
)
# A release with Node16 (2.206.1 brought it): node 6.17.1, node10 10.24.1, node16 16.17.1.
AGENT_2_217_1 = AgentRelease(
    "2.217.1",
    ("Node16", "Node10", "Node"),
    {"Node16": "16.17.1", "Node10": "10.24.1", "Node": "6.17.1"},
    label="2.217.1",
)
# Today's release: node20_1 20.20.2, node24 24.18.0 (and the older ones where still packaged).
AGENT_CURRENT = AgentRelease(
    "5.278.0",
    ("Node24", "Node20_1", "Node16", "Node10", "Node"),
    {
        "Node24": "24.18.0",
        "Node20_1": "20.20.2",
        "Node16": "16.20.2",
        "Node10": "10.24.1",
        "Node": "6.17.1",
    },
    label="5.278.0",
)
AGENT_CURRENT_NODE24 = AgentRelease(
    AGENT_CURRENT.version,
    AGENT_CURRENT.handlers,
    AGENT_CURRENT.nodes,
    node24_knob=True,
    label="5.278.0 with the Node 24 knob",
)

# The agents the tests run the task as: each picks a different Node for it.
AGENTS = (AGENT_2_144_0, AGENT_2_217_1, AGENT_CURRENT, AGENT_CURRENT_NODE24)


def node_versions(manifest: Mapping[str, Any]) -> list[str]:
    """The Node versions those agents run the task with, oldest first."""
    versions = {agent.pick(manifest)[2] for agent in AGENTS}
    return sorted(versions, key=parse_version)
