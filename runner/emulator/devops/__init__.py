"""Azure DevOps for one organization and one project, as the `azure-devops` client sees it.

catalog.py       the seeded organization: project, repository, service connections, people
locations.py     resource-area and API-location discovery (what the client asks before any call)
access.py        PAT (Basic, any user), job and Entra bearer tokens; the service's 401 and errors
state.py         what set-up creates, in memory
routes.py        the organization's front door: credentials, api-version, project; discovery,
                 projects, identities, service connections, repositories; the control API's view
environments.py  environments, their checks, and pipeline permissions on protected resources
pipelines.py     YAML pipelines, their preview, and task groups
preview.py       the preview's expansion: the project's own expander, the service's error lines
"""
