"""The VM kernel cache and the initramfs, without booting anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from wgdroid.errors import EnvironmentProblem
from wgdroid.sim.vm import image
from wgdroid.sim.vm.boot import init_script


def test_load_order_puts_dependencies_first_once() -> None:
    deps = {
        "kernel/fs/9p/9p.ko": ["kernel/net/9p/9pnet.ko", "kernel/fs/fscache/fscache.ko",
                               "kernel/fs/netfs/netfs.ko"],
        "kernel/fs/fscache/fscache.ko": ["kernel/fs/netfs/netfs.ko"],
        "kernel/fs/netfs/netfs.ko": [],
        "kernel/net/9p/9pnet.ko": [],
        "kernel/net/9p/9pnet_virtio.ko": ["kernel/net/9p/9pnet.ko",
                                          "kernel/drivers/virtio/virtio_ring.ko"],
        "kernel/drivers/virtio/virtio_ring.ko": [],
        "kernel/drivers/net/wireguard/wireguard.ko.xz": ["kernel/net/ipv4/udp_tunnel.ko"],
        "kernel/net/ipv4/udp_tunnel.ko": [],
    }
    order = image.load_order(deps, ["9pnet_virtio", "9p", "wireguard"])
    assert len(order) == len(set(order))
    for module, needs in deps.items():
        if module in order:
            assert all(order.index(d) < order.index(module) for d in needs), (module, order)
    assert order[-1].endswith("wireguard.ko.xz")
    with pytest.raises(EnvironmentProblem, match="no module nosuch"):
        image.load_order(deps, ["nosuch"])


def test_module_names_and_the_metapackage_dependency() -> None:
    assert image.module_name("kernel/net/9p/9pnet_virtio.ko") == "9pnet_virtio"
    assert image.module_name("kernel/drivers/net/wireguard/wireguard.ko.xz") == "wireguard"
    assert image.module_name("kernel/x/curve25519-x86_64.ko") == "curve25519_x86_64"
    assert image.kernel_package_of(
        "linux-image-6.1.0-57-amd64 (= 6.1.192-3)") == "linux-image-6.1.0-57-amd64"
    assert image.kernel_package_of(
        "initramfs-tools | linux-initramfs-tool, linux-image-6.12.9-amd64"
    ) == "linux-image-6.12.9-amd64"
    with pytest.raises(EnvironmentProblem):
        image.kernel_package_of("kmod, linux-base")


def test_an_empty_cache_names_the_package_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem) as err:
        image.find(tmp_path)
    assert "linux-image-amd64" in err.value.message and "scripts/setup" in err.value.message
    assert "\n" not in err.value.message


def test_init_script_quotes_the_paths_it_is_given() -> None:
    script = init_script("/opt/my venv/bin/python", "/var/cache/it's")
    assert "exec switch_root /newroot '/opt/my venv/bin/python' -m wgdroid.sim.vm_guest " \
           "--modules-root '/var/cache/it'\"'\"'s'" in script


def test_the_initramfs_unpacks_with_busybox_cpio(tmp_path: Path) -> None:
    """Read back by an implementation we did not write (the cache's busybox)."""
    try:
        kernel = image.find()
    except EnvironmentProblem as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(exc.message)
    data = image.initramfs(kernel, "#!/bin/sh\necho hi\n")
    out = tmp_path / "root"
    out.mkdir()
    listing = subprocess.run([str(kernel.busybox), "cpio", "-t"], input=data,
                             capture_output=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "dev/console" in listing.stdout.decode().split()
    # Everything but the device node (mknod needs root).
    done = subprocess.run([str(kernel.busybox), "cpio", "-i", "-d", "-m", "init", "bin/*",
                           "lib/wgdroid/*"], input=data, cwd=out, capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert (out / "init").read_text() == "#!/bin/sh\necho hi\n"
    assert os.access(out / "init", os.X_OK)
    assert os.readlink(out / "bin/sh") == "busybox"
    assert (out / "bin/busybox").read_bytes() == kernel.busybox.read_bytes()
    modules = sorted(p.name for p in (out / "lib/wgdroid").iterdir())
    # Load order: the virtio transport before 9p's virtio transport and the console.
    names = [m.split("-", 1)[1] for m in modules]
    assert names.index("virtio_pci.ko") < names.index("9pnet_virtio.ko")
    assert names.index("9pnet.ko") < names.index("9p.ko")
    assert "virtio_console.ko" in names and "virtio_net.ko" in names
    assert all((out / "lib/wgdroid" / m).read_bytes()[:4] == b"\x7fELF" for m in modules)


def test_a_download_without_package_lists_updates_them_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh machine may have no apt lists: download, update, download again."""
    calls: list[list[str]] = []

    def run(argv: list[str], cwd: Path, what: str) -> str:
        calls.append(argv)
        if argv[:2] == ["apt-get", "download"] and len(calls) == 1:
            raise EnvironmentProblem("apt-get download failed: E: Unable to locate package")
        return ""

    monkeypatch.setattr(image, "_run", run)
    image._download(["linux-image-amd64"], tmp_path)
    assert [c[:2] for c in calls] == [["apt-get", "download"], ["apt-get", "update"],
                                      ["apt-get", "download"]]
    calls.clear()

    def always_fails(argv: list[str], cwd: Path, what: str) -> str:
        calls.append(argv)
        if argv[1] == "download":
            raise EnvironmentProblem("apt-get download linux-image-amd64 failed: 404")
        return ""

    monkeypatch.setattr(image, "_run", always_fails)
    with pytest.raises(EnvironmentProblem, match="404"):
        image._download(["linux-image-amd64"], tmp_path)
    assert len(calls) == 3  # no endless retries
