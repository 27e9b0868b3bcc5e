# match: list takes a comma-separated list of ids.
base:
  'app1,app2,app3':
    - match: list
    - apps
  'app1,app3':
    - match: list
    - odd
  'app2':
    - match: list
    - single
