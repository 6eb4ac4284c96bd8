"""WireGuard configs: models, parser, renderers, keys, QR and archives."""
