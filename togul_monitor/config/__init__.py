"""Configuration stage: where files live and the connection profiles."""
