http2-marker:
  test.nop: []
