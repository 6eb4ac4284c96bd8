"""wgdroid's bundled userspace WireGuard: protocol core in `core/`, pipeline and I/O here."""
