"""The device side of the ADB protocol for the simulated phone.

The real adb server (`adb connect 127.0.0.1:PORT`) talks to this as to a
phone's adbd; adbutils, the adb CLI and wgdroid run unchanged on top.
Streams become processes started through `PhoneRuntime.spawn`; `sync:` is the
stdlib-only `python3 -m wgdroid.sim.adb.syncd` process, so file operations
use the phone's uid, mounts and permissions.

Public API (import from the submodules; this package imports nothing heavy,
because syncd runs from it inside the phone)::

    from wgdroid.sim.adb.server import AdbDeviceServer, serve_device
    from wgdroid.sim.adb.auth import AuthPolicy

    server = await serve_device(runtime, "127.0.0.1", 15555,
                                auth=AuthPolicy(allowed_keys=[...]))  # auth optional
    server.port                     # the bound port (pass 0 to pick one)
    await server.allow_key(line)    # trust an adbkey.pub line; waiting hosts go online
    server.pending_keys()           # keys of hosts showing "Allow USB debugging?"
    await server.wait_for_pending_key()  # until a prompt shows (wrap in asyncio.timeout)
    await server.allow_pending()    # tap "Allow" on every pending prompt
    await server.drop_connections() # the transport drops; the adb server reconnects
    await server.reboot()           # drop, runtime.reboot(), then accept handshakes again
                                    # (what a phone-side `reboot` command should trigger)
    server.handshakes               # CNXNs sent so far (reconnections show up here)
    await server.close()

- Ports 5554..5585 are refused: the adb server probes them as emulators.
- `auth=None` (or `required=False`): CNXN is answered at once. With a policy,
  unknown hosts stay "unauthorized" until `allow_key`/`allow_pending`.
- `syncd_argv` (default `python3 -m wgdroid.sim.adb.syncd`) says how the phone
  starts syncd; the runtime must make `wgdroid` importable there (or pass a
  path to syncd.py, which is self-contained).
- `root:` sets `runtime.adbd_root` (if `runtime.debuggable`) and drops the
  transport as adbd's restart does; `reboot:` calls `server.reboot()`.
- Streams run `/system/bin/sh -c <cmd>` (`/system/bin/sh -l` on a PTY for an
  empty command) via `runtime.spawn`, uid 2000 or 0 (`runtime.adbd_root`),
  cwd `/`, with adbd's environment (PATH, HOME=/, USER/LOGNAME, SHELL,
  TMPDIR=/data/local/tmp, TERM, HOSTNAME=localhost). PTYs are allocated here
  (os.openpty) and handed over with `setsid_ctty=True`.
- Each accepted stream bumps `runtime.counters` ("shell", "exec", "sync",
  "root", "unroot", "reboot").

Modules: packets (header, constants, banner), streams (flow control),
transport (handshake, stream table), auth, shellproto (v2 framing), child
(pipes/pty and the spawned process), shell (shell/exec), sync (syncd bridge),
syncd, services (dispatch, root/unroot/reboot), server, fdio, and
hostruntime (a host-process PhoneRuntime for protocol tests).
"""
