unanchored-marker:
  test.nop: []
