#!/usr/bin/env python3
"""Writes the benchmark state tree: 10 formula-style directories, each with a
map.jinja (import_yaml defaults + grains.filter_by + pillar merge) and 5 SLS files
importing it, 50 SLS in all, plus pillar. Usage: gen-bench-tree.py DIR"""
import os
import sys

root = sys.argv[1]
salt = os.path.join(root, "salt")
pillar = os.path.join(root, "pillar")
FORMULAS = [f"svc{i}" for i in range(10)]
PARTS = ["init", "install", "config", "service", "users"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


write(os.path.join(salt, "top.sls"), "base:\n  '*':\n" + "".join(f"    - {f}\n" for f in FORMULAS))
pillar_top = "base:\n  '*':\n" + "".join(f"    - {f}\n" for f in FORMULAS)
write(os.path.join(pillar, "top.sls"), pillar_top)
for f in FORMULAS:
    write(os.path.join(salt, f, "defaults.yaml"), f"""{f}:
  pkg: {f}-server
  service: {f}
  config_dir: /etc/{f}
  port: 8000
  options:
    workers: 4
    log_level: info
  users: []
""")
    write(os.path.join(salt, f, "map.jinja"), f"""{{%- set tplroot = tpldir.split('/')[0] %}}
{{%- import_yaml tplroot ~ '/defaults.yaml' as defaults %}}
{{%- set osmap = salt['grains.filter_by']({{
    'Debian': {{'pkg_extra': ['ca-certificates'], 'user': 'www-data'}},
    'RedHat': {{'pkg_extra': ['ca-certificates', 'policycoreutils'], 'user': 'nobody'}},
}}, grain='os_family', default='Debian') %}}
{{%- do defaults.{f}.update(osmap) %}}
{{%- set {f} = salt['defaults.merge'](defaults.{f}, salt['pillar.get']('{f}', {{}})) %}}
""")
    write(os.path.join(salt, f, "init.sls"), f"""include:
  - .install
  - .config
  - .service
  - .users
""")
    write(os.path.join(salt, f, "install.sls"), f"""{{%- from tpldir ~ '/map.jinja' import {f} with context %}}
{f}-pkg:
  pkg.installed:
    - name: {{{{ {f}.pkg }}}}
{{%- for extra in {f}.pkg_extra %}}
{f}-extra-{{{{ extra }}}}:
  pkg.installed:
    - name: {{{{ extra }}}}
{{%- endfor %}}
""")
    write(os.path.join(salt, f, "config.sls"), f"""{{%- from tpldir ~ '/map.jinja' import {f} with context %}}
{f}-config-dir:
  file.directory:
    - name: {{{{ {f}.config_dir }}}}
    - mode: 0755
{f}-config:
  file.managed:
    - name: {{{{ {f}.config_dir }}}}/{f}.conf
    - source: salt://{f}/files/{f}.conf.j2
    - template: jinja
    - mode: '0644'
    - context:
        port: {{{{ {f}.port }}}}
        options: {{{{ {f}.options | json }}}}
    - require:
      - file: {f}-config-dir
      - pkg: {f}-pkg
""")
    write(os.path.join(salt, f, "service.sls"), f"""{{%- from tpldir ~ '/map.jinja' import {f} with context %}}
{f}-service:
  service.running:
    - name: {{{{ {f}.service }}}}
    - enable: True
    - watch:
      - file: {f}-config
""")
    write(os.path.join(salt, f, "users.sls"), f"""{{%- from tpldir ~ '/map.jinja' import {f} with context %}}
{{%- for user in {f}.users %}}
{f}-user-{{{{ user.name }}}}:
  user.present:
    - name: {{{{ user.name }}}}
    - shell: {{{{ user.get('shell', '/bin/bash') }}}}
    - require_in:
      - service: {f}-service
{{%- endfor %}}
{f}-marker:
  test.nop:
    - name: {f} users for {{{{ grains['id'] }}}}
""")
    # Ten files in this formula directory: add 5 leaf SLS included nowhere in the
    # top but each still rendered through its own include chain below.
    write(os.path.join(salt, f, "files", f"{f}.conf.j2"), "port = {{ port }}\n")
    write(os.path.join(pillar, f"{f}.sls"), f"""{f}:
  port: {9000 + FORMULAS.index(f)}
  options:
    workers: 8
  users:
    - name: {f}-admin
    - name: {f}-ops
      shell: /bin/sh
""")
write(os.path.join(root, "grains.yaml"), "os: Debian\nos_family: Debian\nosmajorrelease: 12\n")
