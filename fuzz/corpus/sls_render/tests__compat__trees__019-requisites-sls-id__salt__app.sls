# Requisite targets given as sls: (everything in an SLS) and id: (an ID of
# any module), forward and *_in.
include:
  - db

app:
  pkg.installed:
    - require:
      - sls: db
  service.running:
    - watch:
      - id: app
      - sls: db
    - require:
      - id: postgresql

migrate:
  cmd.run:
    - name: app migrate
    - onchanges:
      - id: app
    - require_in:
      - sls: db
