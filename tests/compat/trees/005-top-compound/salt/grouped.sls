grouped-marker:
  test.nop: []
