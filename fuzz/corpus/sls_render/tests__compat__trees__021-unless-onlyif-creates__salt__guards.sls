# unless/onlyif/creates pass through compile untouched (strings, lists,
# and the dict form of a module call).
build:
  cmd.run:
    - name: make
    - cwd: /srv/src
    - creates: /srv/src/app
    - unless: test -f /srv/src/.skip

install:
  cmd.run:
    - name: make install
    - onlyif:
      - test -d /srv/src
      - fun: file.file_exists
        path: /srv/src/Makefile
    - unless:
      - test -f /usr/local/bin/app
      - test -f /opt/app
    - creates:
      - /usr/local/bin/app
      - /usr/local/share/app

marker:
  file.managed:
    - name: /tmp/marker
    - onlyif: 'true'
    - check_cmd: 'true'
