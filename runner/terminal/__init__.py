"""A terminal: the swap-slots command's swap and route, and their log."""
