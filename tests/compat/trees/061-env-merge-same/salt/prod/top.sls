prod:
  '*':
    - web
    - extra
dev:
  '*':
    - ignored
