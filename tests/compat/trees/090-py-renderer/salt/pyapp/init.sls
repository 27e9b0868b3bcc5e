#!py
# A #!py SLS: run() returns high data. The dunders are set once the module
# has run, so they are read inside functions only.


def config_name():
    return "/etc/app/%s.conf" % __grains__["os"].lower()


def run():
    role = __salt__["grains.get"]("roles:0", "none")
    port = __pillar__["app"]["port"]
    users = __salt__["pillar.get"]("app:users", {})
    missing = __salt__["pillar.get"]("app:missing", "fallback")
    config = {}
    config["include"] = ["pyapp.extra"]
    # Keys stay in the order run() inserts them.
    config["zz-app-config"] = {
        "file.managed": [
            {"name": config_name()},
            {"contents": "port=%d role=%s missing=%s" % (port, role, missing)},
            {"require": [{"pkg": "app-pkg"}]},
        ]
    }
    config["app-pkg"] = {
        "pkg.installed": [{"name": "app"}, {"version": __grains__["osmajorrelease"]}]
    }
    for name in users:
        config["user-" + name] = {"user.present": [{"name": name}, {"uid": users[name]}]}
    config["where"] = {
        "test.nop": [
            {"sls": __sls__},
            {"env": __env__},
            {"saltenv": saltenv},
            {"id": __opts__["id"]},
            {"in_grains": __salt__["grains.get"]("os_family")},
        ]
    }
    return config
