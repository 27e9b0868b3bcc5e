prod:
  '*':
    - ignored
dev:
  '*':
    - ignored
