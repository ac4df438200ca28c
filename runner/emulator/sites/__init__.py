"""The slots' own HTTPS sites, routing rules on production, and steady user traffic."""
