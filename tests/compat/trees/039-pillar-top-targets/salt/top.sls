base:
  '*':
    - show
