"""Pure tests of server address and device choice."""

from __future__ import annotations

import pytest

from wgdroid.device.connection import DeviceInfo, ServerAddress, choose_serial, server_address
from wgdroid.errors import DeviceError


def test_server_address_precedence() -> None:
    assert server_address(env={}) == ServerAddress("127.0.0.1", 5037)
    env = {"ANDROID_ADB_SERVER_HOST": "10.0.0.2", "ANDROID_ADB_SERVER_PORT": "5038"}
    assert server_address(env=env) == ServerAddress("10.0.0.2", 5038)
    env["ADB_SERVER_SOCKET"] = "tcp:192.0.2.1:6000"
    assert server_address(env=env) == ServerAddress("192.0.2.1", 6000)
    assert server_address("h", 7000, env=env) == ServerAddress("h", 7000)
    assert server_address(port=7001, env=env) == ServerAddress("192.0.2.1", 7001)


@pytest.mark.parametrize("bad", ["local:/tmp/x", "tcp:5037", "tcp:host:port"])
def test_bad_server_socket(bad: str) -> None:
    with pytest.raises(DeviceError):
        server_address(env={"ADB_SERVER_SOCKET": bad})


@pytest.mark.parametrize(("name", "value"), [
    ("ADB_SERVER_SOCKET", "tcp:localhost:99999"), ("ANDROID_ADB_SERVER_PORT", "0"),
    ("ANDROID_ADB_SERVER_PORT", "70000")])
def test_a_port_out_of_range_names_its_variable(name: str, value: str) -> None:
    """Was '99999 is not a TCP port': a script's user could not tell from where."""
    with pytest.raises(DeviceError, match=f"^{name}={value!r}: .* is not a TCP port"):
        server_address(env={name: value})
    assert server_address(port=5037, env={name: value}).port == 5037  # -P wins


D1 = DeviceInfo("A", "device")
D2 = DeviceInfo("B", "device")


def test_choose_serial() -> None:
    assert choose_serial([D1], None, env={}) == "A"
    assert choose_serial([D1, D2], "B", env={}) == "B"
    assert choose_serial([D1, D2], None, env={"ANDROID_SERIAL": "A"}) == "A"


@pytest.mark.parametrize(
    ("devices", "serial", "words"),
    [
        ([], None, "no device"),
        ([D1, D2], None, "several devices"),
        ([D1], "Z", "not found"),
        ([DeviceInfo("U", "unauthorized")], None, "unauthorized"),
        ([DeviceInfo("O", "offline")], "O", "offline"),
    ],
)
def test_choose_serial_errors(devices: list[DeviceInfo], serial: str | None, words: str) -> None:
    with pytest.raises(DeviceError) as info:
        choose_serial(devices, serial, env={})
    assert words in info.value.message and info.value.hint


def test_parse_devices_l() -> None:
    from wgdroid.device.connection import parse_devices

    text = (
        "127.0.0.1:15555        device product:shiba model:Pixel_8 device:shiba transport_id:3\n"
        "emulator-5554          offline transport_id:4\n"
        "0123456789ABCDEF       no permissions (user in plugdev group; are your udev rules "
        "wrong?); see [http://developer.android.com/tools/device.html] usb:1-1 transport_id:5\n"
        "R58M1234               unauthorized usb:1-2 transport_id:6\n"
    )
    assert parse_devices(text) == [
        DeviceInfo("127.0.0.1:15555", "device", "Pixel_8"),
        DeviceInfo("emulator-5554", "offline"),
        DeviceInfo("0123456789ABCDEF", "no permissions (user in plugdev group; are your udev "
                   "rules wrong?); see [http://developer.android.com/tools/device.html]"),
        DeviceInfo("R58M1234", "unauthorized"),
    ]
    assert [d.transport_id for d in parse_devices(text)] == ["3", "4", "5", "6"]
