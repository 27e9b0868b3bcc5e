base:
  'web*':
    - match: compound
    - more
    - common
prod:
  '*':
    - db
    - web
