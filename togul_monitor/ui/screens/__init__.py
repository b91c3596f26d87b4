"""The main screen (`main.py`, with its thread-side jobs in `main_jobs.py`) and one module per
screen pushed over it."""
