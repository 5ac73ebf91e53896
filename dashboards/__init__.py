"""Pages that compose several apps (the top layer): the marketing and sales dashboards, the
campaign and channel-rule pages, and the root URLconf (urls.py), which mounts every app's pages."""
