base:
  '*':
    - multiline
