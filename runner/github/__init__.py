"""GitHub Actions: the runner's environment, its workflow commands, the action's run."""
