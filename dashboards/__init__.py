"""Pages that compose several apps (the top layer): the sales dashboard."""
