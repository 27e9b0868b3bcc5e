nothing-marker:
  test.nop:
    - comment: from nothing
