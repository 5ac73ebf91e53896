"""The demo data generator and `manage.py seed_demo`: the top layer, it composes every app."""
