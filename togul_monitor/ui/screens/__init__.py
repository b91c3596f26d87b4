"""One module per screen pushed over the main view."""
