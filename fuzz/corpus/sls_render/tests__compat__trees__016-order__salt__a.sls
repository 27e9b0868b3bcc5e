# order: integers, 'first', 'last', negatives, and no order (auto order
# follows declaration), spread over two SLS files.
plain-a:
  test.nop: []

ten:
  test.nop:
    - order: 10

last-thing:
  test.nop:
    - order: last

negative-one:
  test.nop:
    - order: -1

first-thing:
  test.nop:
    - order: first

one:
  test.nop:
    - order: 1
