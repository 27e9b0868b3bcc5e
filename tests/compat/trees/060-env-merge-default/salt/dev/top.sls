dev:
  'web1':
    - tools
