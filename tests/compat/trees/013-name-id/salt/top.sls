base:
  '*':
    - ids
