"""wgdroid: run WireGuard on rooted Android phones from a workstation, over ADB."""

__version__ = "0.1.0"
