include:
  - app.config

app:
  pkg.installed: []
