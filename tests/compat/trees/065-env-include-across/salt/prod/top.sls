prod:
  '*':
    - app
