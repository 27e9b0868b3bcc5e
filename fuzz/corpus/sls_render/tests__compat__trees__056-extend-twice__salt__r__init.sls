# Two SLS extend the same ID (one through an include): Salt merges both extends.
include:
  - r.b
  - r.c
extend:
  x:
    test:
      - require:
        - test: one
