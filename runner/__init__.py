"""Swap Slots: swap Azure App Service deployment slots from a pipeline or a terminal."""

__version__ = "1.3.0"
