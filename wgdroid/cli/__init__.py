"""The scripting CLI. Never imports Textual: the TUI is loaded only when asked for."""
