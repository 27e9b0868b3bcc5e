# A key repeated in one YAML mapping: Salt's loader refuses it.
nginx:
  pkg.installed: []
redis:
  pkg.installed: []
nginx:
  service.running: []
