"""The Textual TUI. The only package that imports Textual (design.md §2 rule 1)."""
