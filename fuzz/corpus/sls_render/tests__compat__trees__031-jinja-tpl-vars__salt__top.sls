base:
  '*':
    - formula
    - formula.sub.deep
    - plain
