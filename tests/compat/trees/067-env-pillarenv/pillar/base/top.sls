base:
  '*':
    - common
prod:
  '*':
    - fromBase
