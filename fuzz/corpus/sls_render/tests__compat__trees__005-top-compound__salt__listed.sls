listed-marker:
  test.nop: []
