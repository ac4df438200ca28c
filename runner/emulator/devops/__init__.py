"""Azure DevOps for one organization and one project, as the `azure-devops` client sees it.

catalog.py    the seeded organization: project, repository, service connections, people
locations.py  resource-area and API-location discovery (what the client asks before any call)
access.py     PAT (Basic, empty user) and Entra bearer tokens; the service's 401 and error body
state.py      what set-up creates: environments, checks, pipelines, permissions, task groups
routes.py     the REST routes over that state, and the control API's view of it
preview.py    the Pipelines preview: the project's own expander, the service's error shape
"""
