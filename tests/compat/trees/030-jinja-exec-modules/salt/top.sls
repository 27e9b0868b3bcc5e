base:
  '*':
    - probes
