redhat-marker:
  test.nop:
    - comment: from redhat
