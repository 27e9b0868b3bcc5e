base:
  '*':
    - r
