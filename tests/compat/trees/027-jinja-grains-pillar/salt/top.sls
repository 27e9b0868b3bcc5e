base:
  '*':
    - lookups
