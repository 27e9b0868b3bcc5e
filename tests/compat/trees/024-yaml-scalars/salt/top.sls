base:
  '*':
    - scalars
