base:
  '*':
    - ser
