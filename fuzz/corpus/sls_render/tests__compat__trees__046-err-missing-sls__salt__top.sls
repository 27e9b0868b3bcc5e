base:
  '*':
    - common
  'web*':
    - web.missing
