"""The Textual TUI: the only package that imports Textual.

`wgdroid.tui.app.run(argv)` is the entry point; `adapter` (no Textual) is the
thin bridge to `wgdroid.device` and `wgdroid.sim` that workers call.
"""
