common-marker:
  test.nop: []
