"""The Azure Pipelines agent: its environment, its logging commands, the task's run."""
