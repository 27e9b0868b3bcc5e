base:
  '*':
    - pyapp
