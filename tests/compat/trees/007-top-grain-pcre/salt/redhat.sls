redhat-marker:
  test.nop: []
