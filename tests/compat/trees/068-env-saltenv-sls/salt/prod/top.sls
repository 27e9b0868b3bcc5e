prod:
  'web*':
    - web
