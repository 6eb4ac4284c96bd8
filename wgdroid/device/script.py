"""Phone scripts: the sh files of wgdroid/device/sh/ behind a prelude, and
the records they print.

Every operation is one POSIX sh script run by root in one su invocation
(one adb round trip). Python writes only the prelude (constants, each
validated and `shlex.quote`d) and the call line (`op_NAME ARG...`, every
argument validated by the caller and quoted here); the logic lives in the
sh files (`wgdroid.device.sh` explains their layout). The script travels to
su as one quoted argument, so no su variant can split it; secrets (a
pushed config) travel on its stdin, never on a command line.

What comes back is records: one per line, `KIND<TAB>FIELD...` on stdout
(RECORDS names every kind and its fields) and `wgdroid:KIND<TAB>FIELD...`
on stderr between the tools' own lines (`fail`: why the script stopped,
as a kind from failures.py and values, never prose to match; `step`: what
was running). `records()` is the one parser of both.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Iterable, Mapping

from wgdroid import __version__
from wgdroid.config.names import check_tunnel_name
from wgdroid.errors import InvalidInputError
from wgdroid.lean import Value

TAG_PREFIX = "wgdroid:"
GRANTED_TAG = "wgdroid:granted"
METHOD_TAG = "wgdroid:root="
NOT_ROOT_TAG = "wgdroid:not-root"
NOT_ROOT_EXIT = 98
TAG_EXIT = 99  # a script's own structured failure (its `fail` record says which)

USERSPACE_TOOL = "wgdroid-userspace"  # the bundled data plane's launcher on the phone
APP_PACKAGE = "com.wireguard.android"
MODULE_ID = "wgdroid-tools"
USERSPACE_ENV = "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"

# How long a script waits for a tunnel another operation holds, and for an
# interface to go after `wg-quick down` (a userspace backend with thousands
# of peers takes a while); endpoint resolution retries (wg's default: 15).
LOCK_WAIT = 20
DOWN_WAIT = 15
RESOLVE_RETRIES = 1
# The script's own budget ends this much before the host stops waiting, so
# it can still clean up and say which step ran out.
BUDGET_MARGIN = 5.0


class Layout(Value):
    """Where things are on the phone. Tests root it in a scratch directory."""

    __slots__ = ("data", "dev", "sys", "system")

    def __init__(self, data: str = "/data", sys: str = "/sys", dev: str = "/dev",
                 system: str = "/system") -> None:
        self.data = data
        self.sys = sys
        self.dev = dev
        self.system = system

    @property
    def store_dir(self) -> str:
        return f"{self.data}/misc/wireguard"

    @property
    def state_dir(self) -> str:  # wgdroid's own files on the phone: notes, locks, logs
        return f"{self.store_dir}/.wgdroid"

    @property
    def boot_dir(self) -> str:  # the tunnels the boot script brings up (NAME: its backend)
        return f"{self.state_dir}/boot"

    @property
    def boot_script(self) -> str:  # run by Magisk and KernelSU at late_start service
        return f"{self.data}/adb/service.d/wgdroid-boot.sh"

    @property
    def app_files(self) -> str:  # the official app's tunnels (FileConfigStore)
        return f"{self.data}/data/{APP_PACKAGE}/files"

    @property
    def note_dir(self) -> str:
        """NOTE_DIR/NAME: when NAME came up and on which backend (written at
        `up`). Its own directory: no tunnel name can be a state file's name."""
        return f"{self.state_dir}/up"

    @property
    def wgdroid_dir(self) -> str:  # what `wgdroid tools install` puts on the phone
        return f"{self.data}/adb/wgdroid"

    @property
    def wgdroid_bin(self) -> str:
        return f"{self.wgdroid_dir}/bin"

    @property
    def wgdroid_lib(self) -> str:
        return f"{self.wgdroid_dir}/lib"

    @property
    def wgdroid_run(self) -> str:  # the RUNSTATEDIR we ask device builds of wg to use
        return f"{self.wgdroid_dir}/run"

    @property
    def userspace_zip(self) -> str:
        return f"{self.wgdroid_lib}/wgdroid-userspace.zip"

    @property
    def modules_dir(self) -> str:
        return f"{self.data}/adb/modules"

    @property
    def magisk_module(self) -> str:
        return f"{self.modules_dir}/{MODULE_ID}"

    @property
    def app_bin(self) -> str:
        return f"{self.data}/data/{APP_PACKAGE}/code_cache/bin"

    @property
    def tool_dirs(self) -> tuple[str, ...]:
        """Where wg/wg-quick may live besides PATH (AOSP su resets PATH)."""
        return (
            f"{self.system}/bin",
            f"{self.system}/xbin",
            f"{self.modules_dir}/wireguard/system/xbin",
            f"{self.modules_dir}/wireguard/system/bin",
            f"{self.magisk_module}/system/bin",  # usable before the reboot that mounts it
            self.app_bin,
        )

    def constants(self) -> dict[str, str]:
        """The prelude's constants (the sh files' headers say which they use)."""
        return {
            "TAB": "\t",
            "NL": "\n",
            "TAG_EXIT": str(TAG_EXIT),
            "GRANTED_TAG": GRANTED_TAG,
            "NOT_ROOT_TAG": NOT_ROOT_TAG,
            "NOT_ROOT_EXIT": str(NOT_ROOT_EXIT),
            "METHOD_TAG": METHOD_TAG,
            "DATA": self.data,
            "SYS": self.sys,
            "DEV": self.dev,
            "SYSTEM": self.system,
            "STORE_DIR": self.store_dir,
            "STATE_DIR": self.state_dir,
            "BOOT_DIR": self.boot_dir,
            "BOOT_SCRIPT": self.boot_script,
            "APP_FILES": self.app_files,
            "NOTE_DIR": self.note_dir,
            "LOCK_DIR": f"{self.state_dir}/locks",
            "WGDROID_DIR": self.wgdroid_dir,
            "WGDROID_BIN": self.wgdroid_bin,
            "WGDROID_LIB": self.wgdroid_lib,
            "WGDROID_RUN": self.wgdroid_run,
            "USERSPACE_ZIP": self.userspace_zip,
            "MODULES_DIR": self.modules_dir,
            "MAGISK_MODULE": self.magisk_module,
            "MODULE_ID": MODULE_ID,
            "APP_BIN": self.app_bin,
            "APP_PACKAGE": APP_PACKAGE,
            "TOOL_DIRS": ":".join(self.tool_dirs),
            "USERSPACE_TOOL": USERSPACE_TOOL,
            "VERSION": __version__,
            "LOCK_WAIT": str(LOCK_WAIT),
            "DOWN_WAIT": str(DOWN_WAIT),
            "RESOLVE_RETRIES": str(RESOLVE_RETRIES),
        }


ANDROID = Layout()
STORE_DIR = ANDROID.store_dir
STATE_DIR = ANDROID.state_dir
APP_BIN = ANDROID.app_bin
WGDROID_DIR = ANDROID.wgdroid_dir
WGDROID_BIN = ANDROID.wgdroid_bin
MAGISK_MODULE = ANDROID.magisk_module
TOOL_DIRS = ANDROID.tool_dirs

_FUNCTION_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_CONSTANT_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def q(value: str) -> str:
    return shlex.quote(value)


def check_name(name: str) -> str:
    """The one name rule (config.names), applied before a name nears a shell."""
    return check_tunnel_name(name)


def conf_path(name: str) -> str:
    return f"{STORE_DIR}/{check_name(name)}.conf"


# -- the sh files -------------------------------------------------------------

_NEEDS = "# needs:"


def _sh_text(module: str) -> str:
    # A plain open beside this file: importlib.resources pulled in zipfile,
    # pathlib and urllib (~5 ms of every CLI command's start).
    with open(os.path.join(os.path.dirname(__file__), "sh", f"{module}.sh"),
              encoding="utf-8") as fh:
        return fh.read()


@functools.cache
def source(module: str) -> str:
    """sh/MODULE.sh as shipped, comments and blank lines dropped (they cost
    bytes on every round trip). Rule for the files: no multi-line quoted
    string may hold a line that starts with `#`."""
    text = _sh_text(module)
    kept = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return "\n".join(kept) + "\n"


class _Piece(Value):
    __slots__ = ("function", "text", "words")

    def __init__(self, function: str | None, text: str, words: frozenset[str]) -> None:
        self.function = function  # the function this piece defines; None: top-level lines
        self.text = text
        self.words = words  # every name in it: the functions and constants it uses


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.cache
def pieces(module: str) -> tuple[_Piece, ...]:
    """source(MODULE) cut into its function definitions and the lines between
    them. A function starts with `NAME() {` at the start of a line and ends
    with its line `}` (or on the same line); no body holds such a line."""
    found: list[_Piece] = []
    lines = source(module).splitlines(keepends=True)
    i = 0
    while i < len(lines):
        head = lines[i]
        name, sep, rest = head.partition("() {")
        if not sep or not name.isidentifier() or name != name.lower() or not name.isascii():
            found.append(_Piece(None, head, frozenset(_WORD.findall(head))))
            i += 1
            continue
        end = i
        if rest.strip():  # NAME() { ...; } on one line
            if not rest.rstrip().endswith("}"):
                raise ValueError(f"sh/{module}.sh: {name}() does not end on its line")
        else:
            while lines[end] != "}\n":
                end += 1
                if end == len(lines) or lines[end].partition("() {")[1]:
                    raise ValueError(f"sh/{module}.sh: {name}() has no closing line `}}`")
        text = "".join(lines[i:end + 1])
        found.append(_Piece(name, text, frozenset(_WORD.findall(text))))
        i = end + 1
    return tuple(found)


def needed(parts: Iterable[_Piece], roots: Iterable[str]) -> list[_Piece]:
    """PARTS without the functions that nothing reachable from ROOTS names
    (top-level lines stay). A name counts wherever it is a word (a call, a
    trap, `at_exit NAME`): a function may be kept for nothing, never dropped
    while used; scripts never build a function's name."""
    parts = list(parts)
    defined = {p.function: p for p in parts if p.function is not None}
    todo = [*roots, *(w for p in parts if p.function is None for w in p.words)]
    keep: set[str] = set()
    while todo:
        name = todo.pop()
        if name in defined and name not in keep:
            keep.add(name)
            todo.extend(defined[name].words)
    return [p for p in parts if p.function is None or p.function in keep]


@functools.cache
def needs(module: str) -> tuple[str, ...]:
    """The modules sh/MODULE.sh names on its `# needs:` line."""
    text = _sh_text(module)
    line = next((ln for ln in text.splitlines() if ln.startswith(_NEEDS)), None)
    if line is None:
        raise ValueError(f"sh/{module}.sh has no `{_NEEDS}` line")
    return tuple(line[len(_NEEDS):].split())


def with_needs(modules: Iterable[str]) -> list[str]:
    """MODULES and everything they need, each after what it needs."""
    order: list[str] = []

    def visit(module: str) -> None:
        if module in order:
            return
        for dep in needs(module):
            visit(dep)
        order.append(module)

    for module in modules:
        visit(module)
    return order


def prelude(constants: Mapping[str, str]) -> str:
    lines = []
    for key, value in constants.items():
        if not _CONSTANT_RE.match(key) or "\0" in value:
            raise ValueError(f"not a prelude constant: {key}")
        lines.append(f"{key}={q(value)}")
    return "\n".join(lines) + "\n"


class Script:
    """One phone script: the prelude, sh/MODULES (with what they need), and
    the call lines. `root` scripts start with `as_root` and `setup` (uid 0
    check, the granted tag, PATH, traps, the budget)."""

    def __init__(
        self,
        *modules: str,
        root: bool = True,
        layout: Layout = ANDROID,
        timeout: float = 60.0,
        constants: Mapping[str, str] | None = None,
    ) -> None:
        self.modules = with_needs(("lib", *modules))
        self.root = root
        self._constants = {
            **layout.constants(),
            "BUDGET": str(max(1, int(timeout - BUDGET_MARGIN))),
            **(constants or {}),
        }
        self._calls: list[str] = []

    def call(self, function: str, *args: str | int) -> Script:
        """Add `function ARG...`; the arguments are quoted, never interpreted."""
        if not _FUNCTION_RE.match(function) or not any(
            f"\n{function}() " in "\n" + source(m) for m in self.modules
        ):
            raise ValueError(f"no function {function} in sh/{', '.join(self.modules)}")
        words = [function]
        for arg in args:
            text = str(arg)
            if "\0" in text or "\n" in text:
                raise InvalidInputError("a value for the phone holds a newline or NUL")
            words.append(q(text))
        self._calls.append(" ".join(words))
        return self

    def render(self) -> str:
        """The script. With calls, only the functions they need and the
        constants those use travel (a status sends ~2 of 5.5 KB, an enable ~12
        of 24 KB: fewer bytes through adb and su, less for sh to parse);
        without (tests that append their own lines), everything."""
        start = "as_root\nsetup\n" if self.root else ""
        end = "\n".join(self._calls) + "\n"
        parts = [p for m in self.modules for p in pieces(m)]
        constants = self._constants
        if self._calls:
            roots = set(_WORD.findall(start + end))
            parts = needed(parts, roots)
            used = roots.union(*(p.words for p in parts))
            constants = {k: v for k, v in constants.items() if k in used}
        return "".join([prelude(constants), *(p.text for p in parts), start, end])


# -- records ------------------------------------------------------------------


class RecordKind(Value):
    __slots__ = ("about", "fields", "kind", "rest")

    def __init__(self, kind: str, fields: tuple[str, ...], about: str,
                 rest: bool = False) -> None:
        self.kind = kind
        self.fields = fields
        self.about = about
        self.rest = rest  # the last field takes the rest of the line, tabs and all


RECORDS: dict[str, RecordKind] = {k.kind: k for k in (
    # stdout
    RecordKind("tunnel", ("name", "size", "mtime", "up", "source", "boot"),
               "list: a stored config (up: 1/0; source: wgdroid | app, the official "
               "app's folder; boot: 1 when the boot script brings it up)"),
    RecordKind("stored", ("name",), "push, rename: NAME's config is in place"),
    RecordKind("up", ("name", "backend"), "the tunnel came up on that backend"),
    RecordKind("down", ("name",), "the tunnel went down"),
    RecordKind("boot", ("name", "on"), "enable: the boot script brings it up (yes) or not (no)"),
    RecordKind("bootscript", ("path", "state"),
               "enable --on-boot: the boot script (installed | none: no Magisk/KernelSU)"),
    RecordKind("warn", ("kind", "value"),
               "up: something the tunnel does without (not-installed: an app of its lists); "
               "stale: what an interrupted up of that name had left, removed"),
    RecordKind("resolved", ("host", "address"), "up: an endpoint's name, resolved on the phone"),
    RecordKind("restarted", ("name", "why"),
               "push, rename: it was up, went down, came up again (why: asked, renamed, "
               "dns, table, default-route, mtu, android-net, no-old-config)"),
    RecordKind("applied", ("name", "changes"),
               "push: the new config went onto the running tunnel in place (changes: "
               "peers, then addresses, routes, mtu as they changed)"),
    RecordKind("dialect", ("dialect",), "the phone's wg-quick: android | linux | none"),
    RecordKind("fact", ("key", "value"), "doctor, tools status: one fact", rest=True),
    RecordKind("active", ("tool", "path"), "tools status: the copy root scripts run"),
    RecordKind("found", ("tool", "path", "source", "detail"),
               "tools status: one place a tool is (detail: version or variant)", rest=True),
    RecordKind("placed", ("tool", "path", "source"), "tools install: a tool put (or kept) there"),
    RecordKind("skipped", ("tool", "interpreter"),
               "tools install: a pushed wg-quick left out: its interpreter is not on this "
               "phone, which does not need wg-quick (wgdroid brings tunnels up itself)"),
    RecordKind("sockdir", ("path",), "tools install: the userspace backend's socket directory"),
    RecordKind("removed", ("path",), "tools remove: a directory that went"),
    RecordKind("now", ("time",), "status: the phone's clock (unix seconds)"),
    RecordKind("iface", ("name", "kind", "ifindex", "note"),
               "status: an interface (kind: kernel | tun), wgdroid's note from its up",
               rest=True),
    RecordKind("xfer", ("iface", "peer", "rx", "tx"), "status: the first transfer sample"),
    RecordKind("dump", ("line",), "status: a `wg show all dump` line, keys hidden", rest=True),
    # stderr, after TAG_PREFIX
    RecordKind("fail", ("failure",), "why the script stopped: a kind (failures.py), then "
               "its values, tab-separated", rest=True),
    RecordKind("step", ("step",), "what the script runs now", rest=True),
)}


class Record(Value):
    """One record: its kind and fields; `record["name"]` is a field by name."""

    __slots__ = ("fields", "kind")

    def __init__(self, kind: str, fields: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.fields = fields

    def __getitem__(self, name: str) -> str:
        return self.fields[RECORDS[self.kind].fields.index(name)]


def records(text: str, *kinds: str) -> list[Record]:
    """The records in a script's stdout (only KINDS if given). Lines that are
    no record of a known kind with its number of fields are not ours."""
    found = []
    for line in text.splitlines():
        kind, sep, rest = line.partition("\t")
        spec = RECORDS.get(kind)
        if spec is None or not sep or (kinds and kind not in kinds):
            continue
        n = len(spec.fields)
        parts = rest.split("\t", n - 1) if spec.rest else rest.split("\t")
        if len(parts) == n:
            found.append(Record(kind, tuple(parts)))
    return found


class Tag(Value):
    """A `fail` record: the failure's kind and its values."""

    __slots__ = ("kind", "values")

    def __init__(self, kind: str, values: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.values = values

    @property
    def detail(self) -> str:
        return " ".join(self.values)


class Stderr(Value):
    __slots__ = ("granted", "lines", "steps", "tags")

    def __init__(self, lines: list[str], tags: list[Tag], steps: list[str],
                 granted: bool) -> None:
        self.lines = lines  # what the tools said (none of ours)
        self.tags = tags  # why the script stopped
        self.steps = steps  # what it ran, in order
        self.granted = granted  # whether root was granted


def split_stderr(text: str) -> Stderr:
    """A script's stderr: the tools' lines apart from ours."""
    lines: list[str] = []
    tags: list[Tag] = []
    steps: list[str] = []
    granted = False
    for line in text.splitlines():
        if not line.startswith(TAG_PREFIX):
            lines.append(line)
        elif line == GRANTED_TAG:
            granted = True
        elif line.startswith(METHOD_TAG) or line == NOT_ROOT_TAG:
            continue
        else:
            for rec in records(line[len(TAG_PREFIX):], "fail", "step"):
                if rec.kind == "step":
                    steps.append(rec["step"])
                else:
                    kind, *values = rec["failure"].split("\t")
                    tags.append(Tag(kind, tuple(values)))
    return Stderr(lines, tags, steps, granted)


# wireguard-go prints a boxed warning banner (its "running wireguard-go is
# not required" notice) before anything useful: lines that start with a
# box-drawing character.
_BOX_DRAWING = ("\u2500", "\u257f")


# wg quotes the value it could not take (wireguard-tools src/config.c
# parse_key: "Key is not the correct length or format: `%s'"), or a whole line
# it did not know (config_read_line: "Line unrecognized: `%s'"): part of a
# private key, too short for redact to see. A line's key name stays.
# (Patterns, not compiled ones: only a failure needs them, and re compiles
# and caches them then.)
_BAD_KEY = r"^(Key is not the correct length or format: )`.*'$"
_KEY_LINE = r"(?i)^(Line unrecognized: `[^=']*key[^=']*=).*'$"


def _unquote_secrets(line: str) -> str:
    line = re.sub(_BAD_KEY, r"\1(the value is not shown)", line)
    return re.sub(_KEY_LINE, r"\1(hidden)'", line)


def _is_banner(line: str) -> bool:
    return _BOX_DRAWING[0] <= line[:1] <= _BOX_DRAWING[1]


def trimmed(lines: Iterable[str], limit: int = 8) -> str:
    """A tool's stderr for a one-line error: no `[#]` echo lines, no banner
    boxes, no value wg quotes from a config line, the last few lines."""
    kept = [
        _unquote_secrets(ln.strip()) for ln in lines
        if ln.strip() and not ln.startswith("[#]") and not _is_banner(ln.strip())
    ]
    return "; ".join(kept[-limit:])
