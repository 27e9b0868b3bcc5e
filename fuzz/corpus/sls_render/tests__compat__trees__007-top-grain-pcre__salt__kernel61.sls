kernel61-marker:
  test.nop: []
