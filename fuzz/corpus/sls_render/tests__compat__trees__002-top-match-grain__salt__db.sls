db-marker:
  test.nop:
    - comment: from db
