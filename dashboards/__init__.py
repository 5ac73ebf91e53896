"""Pages that compose several apps (the top layer): the marketing and sales dashboards."""
