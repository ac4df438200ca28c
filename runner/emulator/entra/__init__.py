"""Entra ID: discovery, keys and tokens; the other token sources of a pipeline agent
(the Azure DevOps OIDC endpoint, managed identity)."""
