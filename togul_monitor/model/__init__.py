"""Model stage: the event log, the cached flag values and the filter language."""
