base:
  '*':
    - hard
