base:
  '*':
    - roles
