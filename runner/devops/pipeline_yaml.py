"""The pipeline YAML that `swap-slots init` writes: a build stage to fill in, then this project's
Deploy -> Test -> Swap stage template for one app, as in examples/one-app.yml."""

from __future__ import annotations

import json
import re
from typing import NamedTuple

TEMPLATES_CONNECTION = "github"  # the GitHub connection the templates' repository resource names
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/@-]*$")


class PipelineValues(NamedTuple):
    app: str
    resource_group: str
    slot: str
    service_connection: str


def pipeline_yaml(values: PipelineValues) -> str:
    slot_line = f"\n    slot: {_scalar(values.slot)}" if values.slot != "staging" else ""
    return f"""\
# Deploy -> Test -> Swap for {values.app}, written by `swap-slots init`.
# The `production` environment's approvals and checks decide when the swap runs.
trigger:
  branches:
    include:
    - main

resources:
  repositories:
  - repository: swapslots            # the alias after the @ in the template line below
    type: github
    name: swap-slots/swap-slots      # the templates' repository, or your fork or mirror of it
    endpoint: {TEMPLATES_CONNECTION}                 # a GitHub service connection in your project
    ref: refs/tags/v1                # pin a release; the templates follow SwapSlots@1

stages:
- stage: Build
  jobs:
  - job: Package
    pool:
      vmImage: ubuntu-latest
    steps:
    - script: echo "Build your app here, into $(Build.SourcesDirectory)/site"
      displayName: Build
    - task: ArchiveFiles@2
      displayName: Zip the site
      inputs:
        rootFolderOrFile: $(Build.SourcesDirectory)/site
        includeRootFolder: false
        archiveType: zip
        archiveFile: $(Build.ArtifactStagingDirectory)/site.zip
    - publish: $(Build.ArtifactStagingDirectory)/site.zip
      artifact: site

- template: templates/stages/deploy-test-swap.yml@swapslots
  parameters:
    serviceConnection: {_scalar(values.service_connection)}
    appName: {_scalar(values.app)}
    resourceGroupName: {_scalar(values.resource_group)}{slot_line}
"""


def _scalar(text: str) -> str:
    """Plain when YAML reads it back as the same text, else double-quoted (JSON is valid YAML)."""
    return text if _PLAIN.match(text) else json.dumps(text)
