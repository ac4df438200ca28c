"""Azure Resource Manager: its front door (tokens, api-version, errors) and the Microsoft.Web
routes."""
