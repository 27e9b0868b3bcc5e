include:
  - r.b
extend:
  x:
    test:
      - require:
        - test: two
