base:
  '*':
    - merge
