"""Azure Monitor platform metrics for the emulated sites and slots: what each slot's site served,
per minute, published after a delay as Azure publishes it, and read through ARM's
`{resourceId}/providers/Microsoft.Insights/metrics` as azure-mgmt-monitor reads it."""
