base:
  '*':
    - run
