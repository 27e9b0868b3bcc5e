debian-marker:
  test.nop:
    - comment: from debian
