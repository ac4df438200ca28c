"""The release: plan, gate, canary, swap, verification, bake, swap back, the outcome."""
