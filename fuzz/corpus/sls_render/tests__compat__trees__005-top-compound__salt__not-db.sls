not-db-marker:
  test.nop: []
