base:
  '*':
    - common
prod:
  'web*':
    - web
