base:
  '*':
    - any
