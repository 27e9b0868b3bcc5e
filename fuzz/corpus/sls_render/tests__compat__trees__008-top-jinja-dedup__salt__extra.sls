extra-marker:
  test.nop: []
