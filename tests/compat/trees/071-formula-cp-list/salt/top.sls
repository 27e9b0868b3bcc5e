base:
  '*':
    - c
