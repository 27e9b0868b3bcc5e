base:
  '*':
    - overrides
