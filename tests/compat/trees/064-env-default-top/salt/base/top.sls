base:
  '*':
    - common
qa:
  '*':
    - ignored
