base:
  '*':
    - k
