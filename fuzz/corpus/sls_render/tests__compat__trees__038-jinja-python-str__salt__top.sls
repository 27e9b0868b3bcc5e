base:
  '*':
    - str
