"""Android's user and group names, as bionic answers them (a pure unit).

The table is AOSP system/core libcutils/include/private/android_filesystem_config.h
as Android 14 (API 34) has it: up to AID_PRNG_SEEDER 1092 and AID_READTRACEFS 3012
(uprobestats 1093 and virtualmachine 3013 came with API 35, bionic's
tests/grp_pwd_test.cpp says);
each `#define AID_<NAME> <id>` is the name lowercased (mediacodec, mediaex and
mediadrm are the exceptions), less what build/tools/fs_config/fs_config_generator.py
skips (AID_UNUSED*, AID_APP*, AID_USER*, *_START, *_END). getpwnam()/getpwuid()
model bionic/libc/bionic/grp_pwd.cpp: that table first, then the OEM ranges
(oem_NNNN), then the per-user names (u0_a123, u0_i5, u10_system); there are no
vendor passwd files on the simulated phone.
"""

from __future__ import annotations

import re

ANDROID_IDS = {
    "root": 0, "daemon": 1, "bin": 2, "system": 1000, "radio": 1001, "bluetooth": 1002,
    "graphics": 1003, "input": 1004, "audio": 1005, "camera": 1006, "log": 1007,
    "compass": 1008, "mount": 1009, "wifi": 1010, "adb": 1011, "install": 1012,
    "media": 1013, "dhcp": 1014, "sdcard_rw": 1015, "vpn": 1016, "keystore": 1017,
    "usb": 1018, "drm": 1019, "mdnsr": 1020, "gps": 1021, "media_rw": 1023, "mtp": 1024,
    "drmrpc": 1026, "nfc": 1027, "sdcard_r": 1028, "clat": 1029, "loop_radio": 1030,
    "mediadrm": 1031, "package_info": 1032, "sdcard_pics": 1033, "sdcard_av": 1034,
    "sdcard_all": 1035, "logd": 1036, "shared_relro": 1037, "dbus": 1038, "tlsdate": 1039,
    "mediaex": 1040, "audioserver": 1041, "metrics_coll": 1042, "metricsd": 1043,
    "webserv": 1044, "debuggerd": 1045, "mediacodec": 1046, "cameraserver": 1047,
    "firewall": 1048, "trunks": 1049, "nvram": 1050, "dns": 1051, "dns_tether": 1052,
    "webview_zygote": 1053, "vehicle_network": 1054, "media_audio": 1055,
    "media_video": 1056, "media_image": 1057, "tombstoned": 1058, "media_obb": 1059,
    "ese": 1060, "ota_update": 1061, "automotive_evs": 1062, "lowpan": 1063, "hsm": 1064,
    "reserved_disk": 1065, "statsd": 1066, "incidentd": 1067, "secure_element": 1068,
    "lmkd": 1069, "llkd": 1070, "iorapd": 1071, "gpu_service": 1072, "network_stack": 1073,
    "gsid": 1074, "fsverity_cert": 1075, "credstore": 1076, "external_storage": 1077,
    "ext_data_rw": 1078, "ext_obb_rw": 1079, "context_hub": 1080,
    "virtualizationservice": 1081, "artd": 1082, "uwb": 1083, "thread_network": 1084,
    "diced": 1085, "dmesgd": 1086, "jc_weaver": 1087, "jc_strongbox": 1088,
    "jc_identitycred": 1089, "sdk_sandbox": 1090, "security_log_writer": 1091,
    "prng_seeder": 1092, "shell": 2000, "cache": 2001, "diag": 2002,
    "net_bt_admin": 3001, "net_bt": 3002, "inet": 3003, "net_raw": 3004, "net_admin": 3005,
    "net_bw_stats": 3006, "net_bw_acct": 3007, "readproc": 3009, "wakelock": 3010,
    "uhid": 3011, "readtracefs": 3012, "everybody": 9997, "misc": 9998, "nobody": 9999,
    "overflowuid": 65534,
}
_NAMES = {uid: name for name, uid in ANDROID_IDS.items()}

AID_APP_START, AID_APP_END = 10000, 19999
AID_ISOLATED_START, AID_ISOLATED_END = 90000, 99999
AID_USER_OFFSET = 100000
AID_OVERFLOWUID = 65534
# The vendor's ranges, named oem_NNNN (is_oem_id, a device launched on API 29+).
OEM_RANGES = ((2900, 2999), (5000, 5999))
# grp_pwd.cpp secondary_user_platform_ids: the platform ids a u<N>_<name> may name.
SECONDARY_USER_PLATFORM_IDS = frozenset(
    ANDROID_IDS[n] for n in ("system", "radio", "log", "nfc", "bluetooth", "shell",
                             "secure_element", "network_stack"))


def _is_valid_app_id(uid: int) -> bool:
    """grp_pwd.cpp is_valid_app_id (users)."""
    appid = uid % AID_USER_OFFSET
    if appid == AID_OVERFLOWUID:
        return False
    if appid < AID_APP_START and appid in SECONDARY_USER_PLATFORM_IDS:
        return True
    return AID_APP_START <= appid <= AID_APP_END or AID_ISOLATED_START <= appid <= AID_ISOLATED_END


def _app_id_from_name(name: str) -> int | None:
    """grp_pwd.cpp app_id_from_name (users): u<user>_a<n>, u<user>_i<n>,
    u<user>_<platform name>; the whole name, user <= 1000, app id < 100000."""
    m = re.fullmatch(r"u(\d+)_(?:a(\d+)|i(\d+)|([a-z_0-9]+))", name, re.ASCII)
    if not m:
        return None
    user, app, isolated, platform = m.groups()
    if app is not None:
        appid = int(app) + AID_APP_START
    elif isolated is not None:
        appid = int(isolated) + AID_ISOLATED_START
    elif platform in ANDROID_IDS and ANDROID_IDS[platform] in SECONDARY_USER_PLATFORM_IDS:
        appid = ANDROID_IDS[platform]
    else:
        return None
    if int(user) > 1000 or appid >= AID_USER_OFFSET:
        return None
    return appid + int(user) * AID_USER_OFFSET


def getpwnam(name: str) -> int | None:
    """bionic getpwnam_internal: the uid NAME names, or None (ENOENT)."""
    if name in ANDROID_IDS:
        return ANDROID_IDS[name]
    oem = re.match(r"oem_(\d+)", name, re.ASCII)  # sscanf("oem_%u"): trailing text is ignored
    if oem and any(lo <= int(oem[1]) <= hi for lo, hi in OEM_RANGES):
        return int(oem[1])
    uid = _app_id_from_name(name)
    # app_id_to_passwd: only ids from AID_APP_START up (u0_system is not a user name).
    if uid is None or uid < AID_APP_START or not _is_valid_app_id(uid):
        return None
    return uid


def getpwuid(uid: int) -> str | None:
    """bionic getpwuid_internal: the name of UID (print_app_name_from_uid), or None."""
    if uid in _NAMES:
        return _NAMES[uid]
    if any(lo <= uid <= hi for lo, hi in OEM_RANGES):
        return f"oem_{uid}"
    if uid < AID_APP_START or not _is_valid_app_id(uid):
        return None
    user, appid = divmod(uid, AID_USER_OFFSET)
    if appid >= AID_ISOLATED_START:
        return f"u{user}_i{appid - AID_ISOLATED_START}"
    if appid < AID_APP_START:
        return f"u{user}_{_NAMES[appid]}"
    return f"u{user}_a{appid - AID_APP_START}"


def getpwent() -> list[tuple[str, int]]:
    """Every (name, uid) bionic's getpwent lists: the table, the OEM ranges,
    then user 0's apps and isolated processes ("We are not reporting u1_a*
    and higher")."""
    ranges = (*OEM_RANGES, (AID_APP_START, AID_APP_END), (AID_ISOLATED_START, AID_ISOLATED_END))
    return [*ANDROID_IDS.items(),
            *((getpwuid(uid) or "", uid) for lo, hi in ranges for uid in range(lo, hi + 1))]
