dev:
  '*':
    - tools
qa:
  'web*':
    - checks
