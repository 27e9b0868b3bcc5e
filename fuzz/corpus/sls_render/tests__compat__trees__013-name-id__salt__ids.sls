# The ID is the name unless name: says otherwise; IDs of any shape.
/etc/hosts:
  file.managed:
    - contents: 127.0.0.1 localhost

hosts-file-copy:
  file.managed:
    - name: /etc/hosts.bak
    - source: salt://hosts

"quoted id with spaces":
  cmd.run:
    - name: echo hello

'42':
  test.nop: []

vim:
  pkg:
    - installed
    - name: vim-nox
