base:
  '*':
    - guards
