base:
  '*':
    - svc0
    - svc1
    - svc2
    - svc3
    - svc4
    - svc5
    - svc6
    - svc7
    - svc8
    - svc9
