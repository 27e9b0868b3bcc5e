plain-b:
  test.nop: []

negative-two:
  test.nop:
    - order: -2

also-first:
  test.nop:
    - order: first

big:
  test.nop:
    - order: 20000

quoted-number:
  test.nop:
    - order: '5'
