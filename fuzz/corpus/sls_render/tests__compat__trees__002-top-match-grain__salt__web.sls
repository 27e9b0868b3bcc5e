web-marker:
  test.nop:
    - comment: from web
