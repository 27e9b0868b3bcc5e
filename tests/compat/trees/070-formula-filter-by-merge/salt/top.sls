base:
  '*':
    - m
