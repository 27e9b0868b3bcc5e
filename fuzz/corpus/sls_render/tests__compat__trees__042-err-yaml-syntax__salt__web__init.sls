# A YAML error: a plain scalar may not contain ': '.
nginx:
  pkg.installed:
    - version: 1.22
  service.running:
    - name: nginx: the web server
