base:
  '*':
    - filterby
