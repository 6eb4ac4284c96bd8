"""What a namespace node (a phone, or the simulator's "internet") is built from.

The host side fills a NodeSpec; the zygote inside the new namespaces reads it
(as JSON on its command line: it holds no secrets) and builds the node.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

NodeKind = Literal["phone", "internet"]
SU_SOCKET = "/dev/socket/wgdroid_su"
# Android uses uids up to 99999 for user 0 (netd uid ranges `0-99999`): all mapped.
USERNS_SIZE = 1 << 17
# Where host dirs are bound before entering a user namespace, and the root built.
STAGE_DIR = "/mnt/.wgdroid-stage"
# Where an Android phone has the host programs it runs (rootfs._host_runtime):
# what is under /usr in /system/usr (Android has one, off PATH), and the trees
# of ro_binds (the checkout, its venv, an interpreter outside /usr) under
# /system/usr/sim at their host paths. Android's root is the read-only system
# image (rootfs.build_phone_root): it has no /work, /root or /tmp to hold them.
PHONE_USR = "/system/usr"
PHONE_TREES = "/system/usr/sim"


@dataclass(frozen=True)
class NodeSpec:
    kind: NodeKind
    name: str
    # Where the phone's root tmpfs is mounted before the pivot, inside the
    # node's private mount namespace (so the host never sees it).
    root_dir: str = "/mnt"
    data_dir: str = ""  # host dir: the phone's /data, kept across reboots
    props: dict[str, str] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    su_variant: str = "none"  # magisk | kernelsu | aosp | none
    su_versions: dict[str, list[str | int]] = field(default_factory=dict)
    # KernelSU: whether its allow list grants the shell and apps su (the
    # phone's policy "grant"); only then does /system/bin/su exist for them.
    su_allowed: bool = True
    env: dict[str, str] = field(default_factory=dict)
    base_python: str = ""  # the stdlib interpreter that runs su and shims
    venv_python: str = ""  # the interpreter with wgdroid and cryptography
    # Host dirs the phone sees read-only: at the same path on the kinder phone,
    # under PHONE_TREES on an Android one (on_phone).
    ro_binds: list[str] = field(default_factory=list)
    # A user namespace: phone uids 0..USERNS_SIZE-1 are host uids uid_base.. (so
    # the phone's root is not the host's). Needed when not run as root.
    userns: bool = False
    uid_base: int = 0
    # Android's networking as it is (netd's rules, no /etc/resolv.conf, no
    # resolvconf, /dev/tun only, no bash, /run, /tmp, /var); False keeps the
    # kinder phone the product's Linux wg-quick path still needs.
    android_net: bool = False

    def on_phone(self, path: str) -> str:
        """Where the phone has the host's PATH: the same place on the kinder
        phone; on an Android one /usr's in /system/usr, a ro_bind's in
        PHONE_TREES (anything else is not there)."""
        if not self.android_net:
            return path
        if path.startswith("/usr/"):
            return PHONE_USR + path[len("/usr"):]
        if any(path == tree or path.startswith(tree.rstrip("/") + "/") for tree in self.ro_binds):
            return PHONE_TREES + path
        return path

    @property
    def phone_venv_python(self) -> str:
        """The interpreter with wgdroid, by its path on the phone (what the
        phone's own processes run: netd, adbd's sync service, python3)."""
        return self.on_phone(self.venv_python)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> NodeSpec:
        return cls(**json.loads(text))
