"""A local App Service emulator: Entra ID, DevOps OIDC, managed identity, ARM and slot sites.

It lets the product (and its tests) swap slots over real HTTPS without an Azure subscription, the
way Azurite stands in for Storage. Only the standard library and `cryptography` are used, so it
starts fast.
"""
