prod:
  '*':
    - tier
