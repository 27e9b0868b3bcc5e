#!/root/.cache/brine/salt-venv/bin/python3
"""Regenerate testdata/<fixture>/expected.json with Salt 3007's own code.

For each fixture tree this runs the salt.grains.core helpers that
os_data() uses on Linux (_linux_distribution_data, _linux_cpudata,
_linux_memdata, _linux_init_system, _virtual, _osrelease_data) and
get_machine_identifier(), with every host path (/etc, /proc, /usr, /sys,
/run, ...) redirected into the fixture. The `distro` package is pointed at
the fixture with its own root_dir support, and no tool (systemd-detect-virt,
dmidecode, ...) exists below a fixture, exactly as for Brine's detect_under().

Usage: salt_expected.py [fixture ...]   (default: every fixture directory)
"""

import builtins
import json
import os
import platform
import sys

import distro.distro as distro_impl

import salt.grains.core as core
import salt.utils.files
import salt.utils.platform

HERE = os.path.dirname(os.path.abspath(__file__))
REDIRECTED = ("/etc", "/proc", "/usr", "/sys", "/run", "/var", "/sbin", "/bin", "/lib", "/.dockerenv")

KEYS = [
    "os", "os_family", "osfullname", "osrelease", "oscodename",
    "lsb_distrib_id", "lsb_distrib_release", "lsb_distrib_codename", "lsb_distrib_description",
    "osrelease_info", "osmajorrelease", "osfinger",
    "num_cpus", "cpu_model", "cpu_flags", "mem_total", "swap_total",
    "init", "virtual", "virtual_subtype", "machine_id",
]


def run(root):
    def redir(path):
        if isinstance(path, bytes):
            return os.fsencode(redir(os.fsdecode(path)))
        if isinstance(path, str) and (path == "/" or path.startswith(REDIRECTED)):
            return os.path.join(root, path.lstrip("/"))
        return path

    saved = {}

    def patch(obj, name, wrap):
        saved[(obj, name)] = getattr(obj, name)
        setattr(obj, name, wrap(getattr(obj, name)))

    first_arg = lambda f: (lambda p, *a, **k: f(redir(p), *a, **k))
    for mod, name in [
        (os.path, "isfile"), (os.path, "isdir"), (os.path, "exists"), (os.path, "islink"),
        (os, "stat"), (os, "access"), (os, "listdir"), (os, "readlink"),
        (builtins, "open"), (salt.utils.files, "fopen"),
    ]:
        patch(mod, name, first_arg)
    saved[(platform, "_os_release_candidates")] = platform._os_release_candidates
    platform._os_release_candidates = tuple(redir(p) for p in platform._os_release_candidates)
    platform._os_release_cache = None
    saved[(distro_impl, "_distro")] = distro_impl._distro
    distro_impl._distro = distro_impl.LinuxDistribution(root_dir=root)
    core.__opts__ = {}
    try:
        grains = {"kernel": "Linux"}
        grains["init"] = core._linux_init_system()
        grains.update(core._linux_distribution_data())
        grains.update(core._linux_cpudata())
        grains.update(core._linux_memdata())
        grains.update(core._virtual(grains))
        if grains.get("osrelease", ""):
            grains.update(core._osrelease_data(grains["os"], grains["osfullname"], grains["osrelease"]))
        grains.update(salt.utils.platform.get_machine_identifier())
    finally:
        for (obj, name), value in saved.items():
            setattr(obj, name, value)
    return {k: grains[k] for k in KEYS if k in grains}


def main():
    names = sys.argv[1:] or sorted(
        d for d in os.listdir(HERE) if os.path.isdir(os.path.join(HERE, d))
    )
    for name in names:
        root = os.path.join(HERE, name)
        expected = run(root)
        with open(os.path.join(root, "expected.json"), "w") as f:
            json.dump(expected, f, indent=2)
            f.write("\n")
        print(name, json.dumps({k: expected.get(k) for k in ("os", "osrelease", "oscodename", "osfinger", "virtual")}))


if __name__ == "__main__":
    main()
