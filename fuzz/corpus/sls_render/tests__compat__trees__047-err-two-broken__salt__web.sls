web:
  test.nop:
    - broken: {% if %}
