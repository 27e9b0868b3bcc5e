base:
  '*':
    - common
qa:
  '*':
    - checks
