one-digit-marker:
  test.nop: []
