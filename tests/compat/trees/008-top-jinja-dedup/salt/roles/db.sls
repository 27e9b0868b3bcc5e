db-marker:
  test.nop: []
