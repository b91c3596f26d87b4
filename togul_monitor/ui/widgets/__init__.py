"""One module per widget of the main screen."""
