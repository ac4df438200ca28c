"""App Service itself: apps, slots, deployments, swaps, and how a deployed version behaves."""
