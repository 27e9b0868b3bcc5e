base:
  'web*':
    - match: glob
    - common
prod:
  '*':
    - web
