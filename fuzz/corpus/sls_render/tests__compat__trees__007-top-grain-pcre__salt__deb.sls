deb-marker:
  test.nop: []
