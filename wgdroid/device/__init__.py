"""The device layer: a typed API over adb for the CLI and the TUI.

Modules: connection (adb server, device choice, shell v2 with stdin),
rootshell (su detection and root scripts), script (quoting, script building),
store (configs on the phone), control (enable/disable), status and poll
(`wg show all dump`), doctor (capabilities), fanout (--all). Nothing here
prints; results are dataclasses, failures are `wgdroid.errors`.
"""
