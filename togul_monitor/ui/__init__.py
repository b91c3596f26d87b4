"""The Textual TUI. The only package that imports Textual (docs/architecture.md, the layers)."""
