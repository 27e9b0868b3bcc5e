prod:
  '*':
    - site
