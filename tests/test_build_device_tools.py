"""scripts/build-device-tools: static wg / wg-quick for the four Android ABIs.

Two builds, each run once per module:
- `debian`: the real thing, from Debian's wireguard-tools source. Skipped, with the
  script's own one-line reason, only when the Debian mirror refuses the source files
  (exit 3); any other failure fails.
- `standin`: the same script and toolchain on a tiny generated source tree, so the
  cross-compile, the flags, the manifest and the up-to-date skip are checked even where
  the mirror refuses the source. It stands in for nothing but the C files.

Both share the download/toolchain cache (WGDROID_CACHE_DIR or ~/.cache/wgdroid), so a
second run needs no network and takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from wgdroid.config import keys

# Its own xdist group: it needs no phone, so it builds beside the sim tests' worker.
pytestmark = [pytest.mark.sim, pytest.mark.slow, pytest.mark.timeout(600),
              pytest.mark.xdist_group("device-tools-build")]

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build-device-tools"
ABIS = {
    "arm64-v8a": "ARM aarch64",
    "armeabi-v7a": "ARM, EABI5",
    "x86_64": "x86-64",
    "x86": "Intel 80386",
}
EXIT_SOURCE_UNAVAILABLE = 3


@dataclass
class Build:
    out: Path
    args: tuple[str, ...]  # what the build was run with (a re-run repeats them)
    proc: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def manifest(self) -> dict[str, object]:
        data = json.loads((self.out / "manifest.json").read_text())
        assert isinstance(data, dict)
        return data


def run_script(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=540,
                          check=False)
    return proc, time.monotonic() - started


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_type(path: Path) -> str:
    return subprocess.run(["file", "-b", str(path)], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> Build:
    out = tmp_path_factory.mktemp("device-tools-debian")
    args = ("--out", str(out))
    proc, seconds = run_script(*args)
    if proc.returncode == EXIT_SOURCE_UNAVAILABLE:
        pytest.skip(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stderr
    return Build(out, args, proc, seconds)


# A generated wireguard-tools-shaped tree: version.h, two src/*.c files linked into wg,
# a private uapi header (found only through the script's -I of the tree's uapi dir), and android.c.
STANDIN_FILES = {
    "src/version.h": '#define WIREGUARD_TOOLS_VERSION "0.0.1-standin"\n',
    "src/uapi/linux/linux/standin_uapi.h": "#define STANDIN_UAPI 7\n",
    "src/ipc.c": "const char *rundir(void) { return RUNSTATEDIR; }\n",
    "src/wg.c": (
        "#include <stdio.h>\n#include <string.h>\n#include <linux/standin_uapi.h>\n"
        '#include "version.h"\nconst char *rundir(void);\n'
        "int main(int argc, char **argv) {\n"
        '  if (argc > 1 && !strcmp(argv[1], "--version")) {\n'
        '    printf("wireguard-tools v%s\\n", WIREGUARD_TOOLS_VERSION); return 0; }\n'
        '  printf("%s %d\\n", rundir(), STANDIN_UAPI); return 0; }\n'
    ),
    "src/wg-quick/android.c": (
        "#include <stdio.h>\n"
        'int main(void) { printf("Usage: wg-quick [ up | down ] (%s)\\n", WG_PACKAGE_NAME);'
        " return 1; }\n"
    ),
}


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Build:
    tree = tmp_path_factory.mktemp("standin-source")
    for rel, text in STANDIN_FILES.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    out = tmp_path_factory.mktemp("device-tools-standin")
    args = ("--out", str(out), "--source", str(tree), "--runstatedir", "/data/local/tmp/run",
            "--package-name", "org.example.wg")
    proc, seconds = run_script(*args)
    assert proc.returncode == 0, proc.stderr
    return Build(out, args, proc, seconds)


def check_layout(build: Build, version: str) -> None:
    manifest = build.manifest
    tools = manifest["wireguard_tools"]
    assert isinstance(tools, dict)
    assert tools["version"] == version
    abis = manifest["abis"]
    assert isinstance(abis, dict)
    assert sorted(abis) == sorted(ABIS)
    lines = build.proc.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(ABIS)  # one summary line per ABI
    for abi, arch in ABIS.items():
        for name in ("wg", "wg-quick"):
            path = build.out / abi / name
            kind = file_type(path)
            assert arch in kind, (path, kind)
            assert "statically linked" in kind, (path, kind)
            assert abis[abi]["files"][name]["sha256"] == sha256(path)


def check_rerun_skips(build: Build) -> None:
    before = {p: p.stat().st_mtime_ns for p in build.out.glob("*/wg*")}
    assert len(before) == 2 * len(ABIS)
    proc, seconds = run_script(*build.args)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(ABIS)
    assert all("up to date" in line for line in lines), lines
    assert {p: p.stat().st_mtime_ns for p in build.out.glob("*/wg*")} == before
    assert seconds < 30, f"an up-to-date re-run took {seconds:.1f}s"


# -- the real build from Debian's source ------------------------------------------------


def test_debian_build_is_static_for_every_abi(debian: Build) -> None:
    version = debian.manifest["wireguard_tools"]["version"]  # type: ignore[index]
    check_layout(debian, str(version))
    source = debian.manifest["wireguard_tools"]["source"]  # type: ignore[index]
    assert str(source).startswith("debian wireguard ")


def test_debian_wg_version_is_the_debian_upstream_version(debian: Build) -> None:
    version = str(debian.manifest["wireguard_tools"]["version"])  # type: ignore[index]
    wg = debian.out / "x86_64" / "wg"
    out = subprocess.run([str(wg), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"wireguard-tools v{version} ")
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "wireguard-tools"],
                               capture_output=True, text=True, check=False).stdout
    if installed:  # scripts/setup installs Debian's wg: the same release, the same version
        assert re.sub(r"-[^-]*$", "", installed) == version


def test_debian_wg_genkey_pubkey_agree_with_wgdroid(debian: Build) -> None:
    wg = str(debian.out / "x86_64" / "wg")
    private = subprocess.run([wg, "genkey"], capture_output=True, text=True,
                             check=True).stdout.strip()
    public = subprocess.run([wg, "pubkey"], input=private + "\n", capture_output=True,
                            text=True, check=True).stdout.strip()
    assert len(keys.decode(private)) == 32
    assert public == keys.pubkey(private)
    fixed = keys.genkey()  # and the other way round, on a key wg did not make
    again = subprocess.run([wg, "pubkey"], input=fixed + "\n", capture_output=True,
                           text=True, check=True).stdout.strip()
    assert again == keys.pubkey(fixed)


def test_debian_android_wg_quick_prints_usage(debian: Build) -> None:
    proc = subprocess.run([str(debian.out / "x86_64" / "wg-quick")], capture_output=True,
                          text=True, timeout=30, check=False)
    assert proc.returncode == 1
    assert "Usage:" in proc.stdout + proc.stderr
    assert "[ up | down ]" in proc.stdout + proc.stderr


def test_debian_rerun_is_up_to_date_and_offline_fast(debian: Build) -> None:
    check_rerun_skips(debian)


# -- the same script and toolchain on a generated tree ------------------------------------


def test_standin_build_is_static_for_every_abi(standin: Build) -> None:
    check_layout(standin, "0.0.1-standin")
    manifest = standin.manifest
    assert manifest["runstatedir"] == "/data/local/tmp/run"
    assert manifest["package_name"] == "org.example.wg"
    assert str(manifest["zig"]).count(".") == 2


def test_standin_flags_reach_the_binaries(standin: Build) -> None:
    wg = str(standin.out / "x86_64" / "wg")
    assert subprocess.run([wg], capture_output=True, text=True,
                          check=True).stdout == "/data/local/tmp/run 7\n"
    assert subprocess.run([wg, "--version"], capture_output=True, text=True,
                          check=True).stdout == "wireguard-tools v0.0.1-standin\n"
    quick = subprocess.run([str(standin.out / "x86_64" / "wg-quick")], capture_output=True,
                           text=True, check=False)
    assert quick.returncode == 1
    assert "(org.example.wg)" in quick.stdout


def test_standin_rerun_is_up_to_date(standin: Build) -> None:
    check_rerun_skips(standin)


def test_bad_source_dir_is_one_clear_line(tmp_path: Path) -> None:
    proc, _ = run_script("--out", str(tmp_path / "out"), "--source", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"build-device-tools: error: {tmp_path}: not a wireguard-tools source tree "
        "(no src/version.h)"
    ]
    assert "Traceback" not in proc.stderr


def test_bad_runstatedir_is_a_usage_error(tmp_path: Path) -> None:
    proc, _ = run_script("--out", str(tmp_path), "--runstatedir", 'x"; rm -rf /')
    assert proc.returncode == 2
    assert "--runstatedir" in proc.stderr
    assert "Traceback" not in proc.stderr
