postgresql:
  pkg.installed: []
  service.running: []
