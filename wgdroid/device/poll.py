"""One status poll: the status script in one root round trip, parsed."""

from __future__ import annotations

from wgdroid.device.connection import Device
from wgdroid.device.rootshell import run_root
from wgdroid.device.status import DeviceStatus, parse_status_output, status_script


def poll_status(
    device: Device,
    *,
    sample_seconds: float | None = None,
    root_timeout: float | None = None,
    timeout: float = 30.0,
) -> DeviceStatus:
    """The tunnels that are up. With `sample_seconds`, the script samples the
    counters twice that far apart, so rates come from this one round trip."""
    total = timeout + (sample_seconds or 0)
    script = status_script(sample_seconds, timeout=total)
    res = run_root(device, script, root_timeout=root_timeout, timeout=total)
    res.raise_for_failure("reading the status")
    return parse_status_output(device.serial, res.stdout, sample_seconds)
