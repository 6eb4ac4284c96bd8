"""What each `fail KIND VALUE...` of a phone script means: the error it
becomes, its message and hint. Scripts never send prose to match; every
decision on the host is made on a KIND here (one table, one lookup).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wgdroid import errors
from wgdroid.device.script import Layout, Tag, trimmed

_TOOLS_HINT = (
    "`wgdroid tools status` shows what the phone has; `wgdroid tools install` adds what it lacks"
)

NO_TOOLS = (
    "no wg/wg-quick on the phone and nothing to reuse (not on PATH, not in a Magisk "
    "module, no official WireGuard app): run `wgdroid tools install --from DIR` with "
    "binaries for the phone's ABI (scripts/build-device-tools builds them into "
    "build/device-tools/<abi>/), or install the official WireGuard app and run "
    "`wgdroid tools install` again"
)


class NoToolsError(errors.MissingToolsError):
    """Nothing to install tools from: the message says the fixes."""


@dataclass(frozen=True)
class Failure:
    """`message` and `hint` are str.format templates over the kind's `values`
    and `what` (the operation, e.g. "enabling demo")."""

    kind: str
    values: tuple[str, ...]
    error: type[errors.WgdroidError]
    message: str
    hint: str | None = None
    tool_said: bool = False  # end the message with what the tools printed on stderr


def _missing(kind: str, values: tuple[str, ...], message: str,
             hint: str | None = _TOOLS_HINT) -> Failure:
    return Failure(kind, values, errors.MissingToolsError, message, hint)


_RUN_DIR = Layout().wgdroid_run

FAILURES: dict[str, Failure] = {f.kind: f for f in (
    # tunnels
    Failure("not-found", ("name",), errors.NotFoundError, "no tunnel {name!r} on the device"),
    Failure("not-up", ("name",), errors.NotFoundError, "tunnel {name!r} is not up"),
    Failure("already-up", ("name",), errors.ConflictError, "tunnel {name!r} is already up",
            "`wgdroid disable {name}` first"),
    Failure("is-up", ("name",), errors.ConflictError, "tunnel {name!r} is up",
            "disable it first, or pass --force"),
    Failure("app-owned", ("name",), errors.ConflictError,
            "{what} failed: tunnel {name!r} belongs to the official WireGuard app (its "
            "folder); wgdroid does not delete or rename the app's tunnels",
            "do it in the WireGuard app; or `wgdroid pull {name}` and push it under another "
            "name, as a tunnel of wgdroid's"),
    Failure("exists", ("name",), errors.ConflictError, "a tunnel named {name!r} already exists"),
    Failure("iface-taken", ("name",), errors.ConflictError,
            "{what} failed: the phone has a network interface named {name!r} that is no "
            "WireGuard tunnel; wgdroid leaves it alone",
            "give the tunnel another name (`adb shell ip link` lists the phone's interfaces)"),
    Failure("port-clash", ("port", "other"), errors.ConflictError,
            "ListenPort {port} is already used by tunnel {other!r}",
            "change ListenPort (or leave it out for a random one), or disable the other"),
    Failure("busy", ("name", "seconds"), errors.ConflictError,
            "tunnel {name!r} is busy: another operation on it did not finish in {seconds} s",
            "retry when it is done"),
    Failure("phone-busy", ("seconds",), errors.ConflictError,
            "{what} failed: another tunnel's operation held the phone's lock for {seconds} s",
            "retry when it is done"),
    Failure("bad-key", ("name", "line", "key"), errors.InvalidInputError,
            "{what} failed: line {line} of the stored {name}.conf: {key} is not a key wg "
            "takes (44 base64 characters); its value is not shown",
            "push a corrected config: `wgdroid push FILE --name {name}`"),
    Failure("up-failed", ("name",), errors.DeviceCommandError,
            "{what} failed (wg-quick up {name})", tool_said=True),
    Failure("down-failed", ("name", "seconds"), errors.DeviceCommandError,
            "{what} failed: {name} was still up {seconds} s after wg-quick down",
            tool_said=True),
    Failure("timeout", ("step", "seconds"), errors.OperationTimeout,
            "{what} failed: `{step}` did not finish in {seconds} s", tool_said=True),
    Failure("live-refused", ("name",), errors.DeviceCommandError,
            "{what} failed: wg syncconf refused it for the running tunnel {name}; nothing "
            "changed: the tunnel runs and the phone stores the old config", tool_said=True),
    Failure("apply-failed", ("name", "step"), errors.DeviceCommandError,
            "{what} failed: the running tunnel {name} took the new peers, but changing "
            "{step} failed; the phone still stores the old config",
            "until it restarts it runs a mix of the old and the new config: disable and "
            "enable it (the old config), or fix the config and push it again",
            tool_said=True),
    # a restart onto a pushed config that did not come up (store.sh push_restart);
    # reported after the new config's own failure (reverted_error)
    Failure("push-reverted", ("name",), errors.DeviceCommandError,
            "{what} failed: the phone stores the old config of {name} again, and {name} "
            "is up with it", "fix the config and push it again"),
    Failure("push-reverted-down", ("name",), errors.DeviceCommandError,
            "{what} failed: the phone stores the old config of {name} again, but {name} "
            "did not come up with it either: it is down",
            "`wgdroid enable {name}` once the cause is fixed; or fix the config and push "
            "it again"),
    Failure("wg-failed", ("command",), errors.DeviceCommandError, "{what} failed ({command})",
            tool_said=True),
    # the Android bring-up (sh/android.sh)
    Failure("unresolved", ("host",), errors.DeviceCommandError,
            "{what} failed: cannot resolve {host} on the phone",
            "check the name and the phone's network (its default network's DNS answers it)"),
    Failure("ndc", ("command", "reply"), errors.DeviceCommandError,
            "{what} failed: netd refused `{command}`: {reply}"),
    Failure("dns", ("call", "reply"), errors.DeviceCommandError,
            "{what} failed: the dnsresolver service refused {call}: {reply}"),
    Failure("create", ("name", "backend"), errors.DeviceCommandError,
            "{what} failed: could not create interface {name} ({backend})", tool_said=True),
    Failure("wg-setconf", ("name",), errors.DeviceCommandError,
            "{what} failed: wg refused the configuration of {name}", tool_said=True),
    Failure("address", ("address",), errors.DeviceCommandError,
            "{what} failed: could not add address {address}", tool_said=True),
    Failure("iptables", ("chain",), errors.DeviceCommandError,
            "{what} failed: iptables refused the {chain} rule", tool_said=True),
    Failure("ip6tables", ("chain",), errors.DeviceCommandError,
            "{what} failed: ip6tables refused the {chain} rule", tool_said=True),
    Failure("no-tun", (), errors.MissingToolsError,
            "{what} failed: the phone has no TUN device (/dev/tun or /dev/net/tun)",
            "wireguard-go and the userspace backend need CONFIG_TUN"),
    Failure("bad-value", ("key", "value"), errors.InvalidInputError,
            "{what} failed: {key} = {value!r} is not usable on the phone"),
    Failure("bad-package", ("package",), errors.InvalidInputError,
            "{what} failed: {package!r} is not a package name "
            "(IncludedApplications/ExcludedApplications)"),
    Failure("both-app-lists", (), errors.InvalidInputError,
            "{what} failed: a config may have IncludedApplications or ExcludedApplications, "
            "not both"),
    Failure("no-apps", ("packages",), errors.InvalidInputError,
            "{what} failed: none of IncludedApplications ({packages}) is installed on the "
            "phone: the tunnel would carry nothing", "`adb shell pm list packages` lists them"),
    Failure("no-private-key", (), errors.InvalidInputError,
            "{what} failed: the stored config has no PrivateKey in [Interface]: the phone "
            "would bring up a tunnel that cannot talk", "push a config with its PrivateKey"),
    Failure("unsupported-key", ("key",), errors.InvalidInputError,
            "{what} failed: {key} is not supported on Android (its wg-quick refuses it too)"),
    # backends and tools
    _missing("no-tool", ("tool",), "{tool} not found on the phone"),
    _missing("no-backend", (), "no backend: no WireGuard kernel module, no wireguard-go, "
             "no userspace backend"),
    _missing("no-kmod", (), "no WireGuard kernel module on this phone"),
    _missing("no-wireguard-go", (), "wireguard-go not found on the phone"),
    _missing("no-userspace", (), "no userspace backend installed on the phone"),
    _missing("android-wgquick", ("backend",), "this phone's wg-quick (the Android one) needs "
             "the WireGuard kernel module: it cannot use a userspace backend ({backend})"),
    _missing("kmod-wins", ("backend",), "wg-quick always uses the loaded kernel module, not "
             "{backend}; use --backend kernel", hint=None),
    Failure("no-tools", (), NoToolsError, NO_TOOLS),
    _missing("no-python", (), "the userspace backend needs python3 on the phone (with the "
             "cryptography package), e.g. Termux's: `pkg install python python-cryptography`",
             hint=None),
    _missing("old-python", ("python", "version"), "the userspace backend needs Python 3.11 "
             "or newer; {python} is {version}", hint=None),
    _missing("no-cryptography", ("python",), "python3 on the phone ({python}) lacks the "
             "cryptography package: `pip install cryptography` (Termux: `pkg install "
             "python-cryptography`)",
             hint=None),
    _missing("no-linux-wgquick", (), "the userspace backend needs the Linux wg-quick (it "
             "starts a userspace implementation); this phone's is the Android one: "
             "`wgdroid tools install --from DIR` with a Linux wg-quick", hint=None),
    _missing("socket-dir", ("path",), "this phone's wg looks for UAPI sockets in {path}, "
             "which cannot be created here (no /var/run on Android): use a wg built with "
             f"RUNSTATEDIR={_RUN_DIR} (`wgdroid tools install --from DIR`)", hint=None),
    _missing("not-magisk", (), "no /data/adb/modules: --magisk-module needs Magisk", hint=None),
    _missing("no-interpreter", ("path",), "the pushed wg-quick is a script for {path}, which "
             "this phone lacks: install it (e.g. Termux's bash) and fix the script's first "
             "line, or push the Android wg-quick (scripts/build-device-tools)", hint=None),
    Failure("in-use", ("tunnels",), errors.ConflictError,
            "tunnels are up ({tunnels}) and may be using wgdroid's tools",
            "`wgdroid disable NAME` first, or pass --force"),
    # writing files
    Failure("write", ("path",), errors.DeviceCommandError, "{what} failed: cannot write {path}",
            tool_said=True),
    Failure("truncated", ("name",), errors.DeviceCommandError,
            "{what} failed: {name} arrived incomplete"),
    Failure("corrupt", ("name",), errors.DeviceCommandError,
            "{what} failed: {name} arrived damaged"),
    Failure("unusual-path", ("sockdir", "python"), errors.DeviceCommandError,
            "{what} failed: unusual path {sockdir} or {python}"),
)}


def error_for(tag: Tag, stderr_lines: Sequence[str], returncode: int,
              what: str) -> errors.WgdroidError:
    """The error a `fail` record stands for."""
    spec = FAILURES.get(tag.kind)
    said = trimmed(stderr_lines)
    if spec is None:  # a newer script than this table: still say something true
        suffix = f": {said}" if said else ""
        return errors.DeviceCommandError(f"{what} failed ({tag.kind}){suffix}",
                                         returncode=returncode)
    values = dict(zip(spec.values, (*tag.values, *([""] * len(spec.values))), strict=False))
    message = spec.message.format(what=what, **values)
    if spec.tool_said and said:
        message += f": {said}"
    hint = spec.hint.format(what=what, **values) if spec.hint else None
    if issubclass(spec.error, errors.DeviceCommandError):
        return spec.error(message, returncode=returncode, hint=hint)
    return spec.error(message, hint=hint)


REVERTED = ("push-reverted", "push-reverted-down")


def reverted_error(tags: Sequence[Tag], stderr_lines: Sequence[str], returncode: int,
                   name: str) -> errors.WgdroidError | None:
    """A push's restart whose new config did not come up (a `push-reverted*`
    record last): one error saying why the new config failed and what holds
    now (the old config stored, the tunnel up with it or down)."""
    last = tags[-1] if tags else None
    if last is None or last.kind not in REVERTED:
        return None
    what = f"pushing {name}"
    cause = (error_for(tags[0], stderr_lines, returncode, f"bringing the new {name} up")
             if len(tags) > 1 else None)
    held = error_for(last, (), returncode, what)
    message = held.message
    if cause is not None:
        message = f"{held.message} ({cause.message})"
    if len(tags) > 2:  # the old config's up failed too: why
        again = error_for(tags[1], (), returncode, f"bringing the old {name} up")
        message = f"{message} ({again.message})"
    return errors.DeviceCommandError(message, returncode=returncode, hint=held.hint)


def raise_for_tags(tags: Sequence[Tag], stderr_lines: Sequence[str], returncode: int,
                   what: str) -> None:
    """Raise the error of the script's `fail` record, or of a bare non-zero exit."""
    if tags:
        raise error_for(tags[0], stderr_lines, returncode, what)
    if returncode != 0:
        said = trimmed(stderr_lines)
        suffix = f": {said}" if said else ""
        raise errors.DeviceCommandError(f"{what} failed (exit {returncode}){suffix}",
                                        returncode=returncode)
