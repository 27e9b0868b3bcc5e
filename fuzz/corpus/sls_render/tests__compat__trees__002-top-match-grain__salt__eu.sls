eu-marker:
  test.nop:
    - comment: from eu
