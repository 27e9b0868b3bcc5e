dev:
  '*':
    - never
